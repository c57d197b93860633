"""Checks users run on their own components, in the spirit of scikit-learn's ``check_estimator``."""
