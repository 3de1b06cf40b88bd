"""media-server's unified search: one index over the media apps, one search box.

The service runs in its own container (images/search, built on the Docker host). The Pulumi program renders
its configuration file (mediasearch.config) and its secrets; connectors read each app's documented API
into Documents (mediasearch.model), an engine indexes them (mediasearch.engine), and the server answers the
page, the JSON API, OpenSearch and /metrics.
"""
