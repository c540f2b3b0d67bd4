"""Closed-form methods: linear CCA and Gaussian-kernel CCA."""
