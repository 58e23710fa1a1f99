"""A module whose name the other application's directory also uses."""
WHO = "two"
