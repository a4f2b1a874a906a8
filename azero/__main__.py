"""`python -m azero …` is the `azero` command."""
import sys

from azero.cli import main

sys.exit(main())
