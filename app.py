"""Start the askfront chat in a browser: ``python app.py [--host HOST] [--port PORT]``.

Same as ``askfront serve``: embedded defaults (no server, no API key, no internet), on 127.0.0.1:7860.
"""

import sys

from askfront.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
