"""The CrossGuard policy pack (see PulumiPolicy.yaml); `policies.rules` is importable for the offline gate.

`pulumi preview --policy-pack policies` runs `policies/__main__.py`, which
builds the PolicyPack; nothing else may import that module.
"""
