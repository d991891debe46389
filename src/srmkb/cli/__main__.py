"""``python -m srmkb.cli``: the ``srmkb`` command."""

import sys

from . import main

sys.exit(main())
