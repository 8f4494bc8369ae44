global using MobiScud.Control.Host;
