// The backend contracts, the command dispatcher and the event sink are the host layer's (MobiScud.Control.Host), shared
// by every host; serve's files use them throughout.
global using MobiScud.Control.Host;
