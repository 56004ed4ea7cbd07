module example.com/access-client

go 1.23

require (
	google.golang.org/genproto/googleapis/rpc v0.0.0-20251111163417-95abcf5c77ba
	google.golang.org/grpc v1.77.0
	google.golang.org/protobuf v1.36.10
)
