"""aMINT demonstrator: membership inference tests for image classifiers."""
