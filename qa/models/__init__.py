"""The small fitted and trained models the package ships (data files; see README.md beside them)."""
