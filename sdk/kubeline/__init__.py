"""Kubeline: Kubernetes-native ML pipelines with a ZenML-style API."""

__version__ = "0.1.0"
