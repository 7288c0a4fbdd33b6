"""`python -m kubectl_sparket` is `kubectl sparket`."""

import sys

from kubectl_sparket.cli import main

sys.exit(main())
