from xmbench.cli import main

main()
