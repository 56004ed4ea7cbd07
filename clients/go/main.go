// AccessService from Go: a check, a write whose consistency token the next
// check relays, and a refusal read as its ErrorInfo.
//
//	buf generate && go mod tidy && ACCESS_ADDR=127.0.0.1:50051 go run .
//
// ACCESS_API_KEY, when set, goes in `authorization: Bearer <key>` (a key
// with the check, read, write and platform scopes: the example creates an
// account).
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	accessv1 "example.com/access-client/gen/access/v1"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run() error {
	addr := os.Getenv("ACCESS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:50051"
	}
	// The service's own config: round robin over the addresses a name
	// resolves to, each method's deadline, and UNAVAILABLE retried on the
	// reads and checks (never on writes).
	serviceConfig, err := os.ReadFile("../../api/service-config.json")
	if err != nil {
		return err
	}
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(string(serviceConfig)))
	if err != nil {
		return err
	}
	defer conn.Close()
	access := accessv1.NewAccessServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if key := os.Getenv("ACCESS_API_KEY"); key != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+key)
	}
	suffix := make([]byte, 6)
	if _, err := rand.Read(suffix); err != nil {
		return err
	}
	account := "go-" + hex.EncodeToString(suffix)
	olivia := &accessv1.Person{UserId: "u-olivia", Email: "olivia@example.com", Name: "Olivia Owner"}

	// A write answers with a consistency token ...
	created, err := access.CreateAccount(ctx, &accessv1.CreateAccountRequest{
		AccountId: account, Name: "Go Example", Owner: olivia,
	})
	if err != nil {
		return err
	}
	fmt.Printf("created %s, token %s\n", created.GetAccount().GetId(), created.GetConsistencyToken())

	// ... which the next check relays: its answer is at least as fresh as
	// the write, on any replica, whatever the caches hold.
	decision, err := access.Authorize(ctx, &accessv1.AuthorizeRequest{
		UserId: "u-olivia", AccountId: account, Permission: "campaigns.send",
		Consistency: &accessv1.Consistency{
			Requirement: &accessv1.Consistency_AtLeastAsFresh{AtLeastAsFresh: created.GetConsistencyToken()},
		},
	})
	if err != nil {
		return err
	}
	fmt.Printf("authorize: allowed=%v reason=%s\n", decision.GetAllowed(), decision.GetReason())

	// A refusal: the same account id for another owner. The status code
	// says what kind of failure; ErrorInfo's reason and metadata say which.
	_, err = access.CreateAccount(ctx, &accessv1.CreateAccountRequest{
		AccountId: account, Name: "Go Example",
		Owner: &accessv1.Person{UserId: "u-mallory", Email: "mallory@example.com", Name: "Mallory"},
	})
	refusal := status.Convert(err)
	for _, detail := range refusal.Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok {
			fmt.Printf("refused: %s %s %v\n", refusal.Code(), info.GetReason(), info.GetMetadata())
			if info.GetReason() != "ACCOUNT_EXISTS" {
				return fmt.Errorf("unexpected reason %s", info.GetReason())
			}
			return nil
		}
	}
	return fmt.Errorf("no ErrorInfo in %v", err)
}
