//! Bodies of any size in both modes, through a real Apache: a 50 MB response handed to the
//! server as one block, as an iterator of blocks, through `write()`, through
//! `wsgi.file_wrapper` (a file, and a file-like object), and a 50 MB upload echoed back in
//! one block; with and without `Content-Length`, each compared byte for byte. In
//! daemon mode every block is larger than the protocol's frames, and most are larger than
//! the most its reader takes in one frame.

mod harness;

use harness::*;

const APPS: &str = "
WSGIDaemonProcess big processes=1 threads=2
WSGIScriptAlias /embedded {root}/apps/large.py
WSGIScriptAlias /daemon {root}/apps/large.py process-group=big
";

const SIZE: usize = 50 * 1024 * 1024;

/// What tests/apps/large.py sends: `PIECE` repeated and cut at `n`.
fn large_body(n: usize) -> Vec<u8> {
    let mut piece: Vec<u8> = (0..=255u8).collect::<Vec<_>>().repeat(256);
    piece.extend_from_slice(b"rwsgi");
    let mut body = piece.repeat(n / piece.len() + 1);
    body.truncate(n);
    body
}

/// Asserts `got` is `want`, naming the first byte that differs (not 50 MB of bytes).
fn assert_same(got: &[u8], want: &[u8], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!("{what}: first difference at byte {at:?}");
    }
}

#[test]
fn fifty_megabytes_in_every_shape_in_both_modes() {
    let stage = Stage::new(Mpm::Event);
    let body = large_body(SIZE);
    std::fs::write(stage.root().join("apps/large.bin"), &body).unwrap();
    let apache = stage.start(APPS);
    for mode in ["embedded", "daemon"] {
        for shape in ["block", "iter", "write", "file", "filelike"] {
            for cl in [false, true] {
                let what = format!("{mode} {shape} cl={cl}");
                let url = apache.url(&format!("/{mode}/{shape}?n={SIZE}&cl={}", u8::from(cl)));
                let reply = get(&url);
                assert_eq!(reply.status, 200, "{what}: {}", reply.text());
                assert_same(&reply.body, &body, &what);
                if cl {
                    let length = SIZE.to_string();
                    assert_eq!(reply.header("content-length"), Some(&*length), "{what}");
                }
            }
        }
    }
    apache.assert_log_clean(&[]);
}

#[test]
fn a_fifty_megabyte_upload_comes_back_in_one_block_in_both_modes() {
    let apache = Stage::new(Mpm::Event).start(APPS);
    // A different pattern from the responses', so an echo cannot pass by accident.
    let mut upload = large_body(SIZE + 7).split_off(7);
    upload.reverse();
    for mode in ["embedded", "daemon"] {
        for cl in [false, true] {
            let what = format!("{mode} cl={cl}");
            let url = apache.url(&format!(
                "/{mode}/echo?n={}&cl={}",
                upload.len(),
                u8::from(cl)
            ));
            let reply = post(&url, "application/octet-stream", &upload);
            assert_eq!(reply.status, 200, "{what}: {}", reply.text());
            assert_same(&reply.body, &upload, &what);
        }
    }
    apache.assert_log_clean(&[]);
}
