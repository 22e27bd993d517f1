"""The admin's overview page: the agent, its link and the gateway sampled over the last hour."""
