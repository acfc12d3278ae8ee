"""`python -m coarse2fine.cli`: the `c2f` tool."""

import sys

from . import main

sys.exit(main())
