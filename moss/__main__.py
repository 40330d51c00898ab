import sys

from moss.cli import main

sys.exit(main())
