"""The repository as a whole: the package's structure, the app's configuration and migrations, the
documentation's examples."""
