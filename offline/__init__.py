"""Running the real program under the Pulumi SDK's mocks: record, summarise, gate."""
