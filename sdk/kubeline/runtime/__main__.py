import sys

from kubeline.runtime.executor import main

sys.exit(main())
