"""ACD: queues, agents, routing; a pure core (events and now in, commands out)."""
