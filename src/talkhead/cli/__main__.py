"""``python -m talkhead.cli``: the ``talkhead`` console script."""

import sys

from . import main

sys.exit(main())
