"""Container runtimes the kubelet drives: placeholders, and real local processes for the project's images."""
