from xmbench.entry import main

if __name__ == "__main__":  # not when a --jobs worker process re-imports this module
    main()
