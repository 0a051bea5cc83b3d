"""``python -m fraudscore``: the ``fraudscore`` console script, where the script is not on PATH."""

import sys

from fraudscore.cli import main

sys.exit(main())
