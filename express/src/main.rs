#![forbid(unsafe_code)]
use clap::Parser;

fn main() {
    let cli = rwsgi_express::cli::Cli::parse();
    match rwsgi_express::main(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("rwsgi-express: error: {e:#}");
            std::process::exit(1);
        }
    }
}
