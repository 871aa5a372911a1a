"""Delivery to peers: one :class:`PeerQueue` per peer.

How records leave the node (after the Synapse federation sender):

* The outbox in the store is the queue. A record is in it from the moment
  the national system's file was accepted until a valid signed receipt for
  it is held; memory holds only the batches in flight.
* Each peer has one loop. It opens a gRPC stream to the peer, sends batches
  of envelopes in submission order with at most ``max_in_flight`` batches
  unanswered, and for each receipt batch that comes back checks the
  signature and every digest, then commits the receipt as evidence and marks
  the envelopes delivered (or rejected, loudly) in one transaction.
* Anything else (no connection, a broken stream, a receipt that is late or
  does not verify) ends the stream: nothing unanswered was marked, so it is
  all sent again on the next attempt, and the receiver's dedup answers
  DUPLICATE for what it already has.
* Attempts back off exponentially with jitter up to a cap of minutes, and the
  backoff resets as soon as a verified receipt arrives.
"""

from tamga.outbound._queue import PeerQueue

__all__ = ["PeerQueue"]
