"""`python -m datanectar.cli`: the `datanectar` command."""

import sys

from . import main

sys.exit(main())
