"""``python -m softlogit.cli``: the same as the ``softlogit`` command."""

import sys

from softlogit.cli import main

sys.exit(main())
