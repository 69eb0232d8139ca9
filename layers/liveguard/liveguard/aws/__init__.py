"""Lightweight AWS access for the cold-start-sensitive ingress path (no boto3 import)."""
