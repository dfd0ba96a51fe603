"""askdoc's browser chat: ``python app.py [--host HOST] [--port PORT]`` (same as ``askdoc serve``)."""

import sys

from askdoc.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
