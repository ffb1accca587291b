#!/bin/sh
# An example responder for examples/responders/batch.py that looks but changes nothing and writes no answer:
# batch.py grades it as one that found nothing, and grade recovers the incident by itself.
kubectl get deployments >/dev/null
