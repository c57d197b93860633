"""``python -m seps`` runs the command line."""

import sys

from seps.cli import main

sys.exit(main())
