"""``python -m askfront`` is the same as the ``askfront`` command."""

import sys

from askfront.cli.main import main

sys.exit(main())
