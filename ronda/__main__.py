"""`python -m ronda`: the same command as the `ronda` script."""

import sys

from ronda.app.cli import main

sys.exit(main())
