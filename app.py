"""The web app: ``python app.py`` serves it on http://127.0.0.1:7860 (see ``--help``).

The app itself is ``qa.web.app``; this file only starts it.
"""

from qa.web.app import main

if __name__ == "__main__":
    raise SystemExit(main())
