"""The live loop of event strategies (`ivybt live`, the Desk's start/stop control): brokers.live.session runs a
preset's event strategy on bars as they close (brokers.live.feed) through a guarded broker (brokers.live.guard:
kill switch, risk, audit), following its orders (brokers.live.follow) and saving its state after every bar
(brokers.live.state) so a restart continues without sending an order twice (brokers.live.loop)."""
