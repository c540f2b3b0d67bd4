from xmbench.entry import main

main()
