from kubeline.runtime.executor import exit_now, main

exit_now(main())
