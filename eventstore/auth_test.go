package eventstore_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/portcullis/portcullis/domain"
	"github.com/portcullis/portcullis/eventstore"
)

// An embedded server that listens lets a downstream client with the
// credentials read the stream through a durable consumer of its own, and
// nothing more: publishing an event, changing or deleting the stream are
// refused. Without the credentials, or with wrong ones, it cannot connect.
func TestListenRequiresCredentialsAndIsReadOnly(t *testing.T) {
	_, err := eventstore.Open(t.Context(), eventstore.Config{DataDir: t.TempDir(), ListenAddr: "127.0.0.1:-1"})
	if err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("listening without credentials: %v, want a refusal", err)
	}
	s := mustOpen(t, eventstore.Config{DataDir: t.TempDir(), ListenAddr: "127.0.0.1:-1",
		ListenUser: "erp", ListenPassword: "s3cret-pass"})
	ctx := t.Context()
	for i := range 3 {
		if _, err := s.Append(ctx, []domain.Event{testEvent("a1", "listen-"+strconv.Itoa(i), i)}, nil); err != nil {
			t.Fatal(err)
		}
	}
	head, err := s.LastSequence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	url := s.ListenURL()
	if url == "" {
		t.Fatal("no listen URL")
	}

	for _, opts := range [][]nats.Option{nil, {nats.UserInfo("erp", "wrong")}, {nats.UserInfo("portcullis", "")}} {
		nc, err := nats.Connect(url, append(opts, nats.MaxReconnects(0))...)
		if err == nil {
			nc.Close()
			t.Fatalf("connected with %d options, want an authorization error", len(opts))
		}
		if !errors.Is(err, nats.ErrAuthorization) && !strings.Contains(strings.ToLower(err.Error()), "authorization") {
			t.Fatalf("connect: %v, want an authorization error", err)
		}
	}

	violations := make(chan error, 16)
	nc, err := nats.Connect(url, nats.UserInfo("erp", "s3cret-pass"), nats.MaxReconnects(0),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	if err != nil {
		t.Fatalf("connect with the credentials: %v", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, eventstore.StreamName, jetstream.ConsumerConfig{Durable: "erp",
		FilterSubject: eventstore.TenantSubjects("t1"), AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatalf("create a consumer with the credentials: %v", err)
	}
	batch, err := cons.Fetch(3, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			t.Fatal(err)
		}
		e, err := eventstore.Decode(m.Data(), md.Sequence.Stream)
		if err != nil || e.Aggregate.ID != "a1" {
			t.Fatalf("event %d: %+v, %v", n, e, err)
		}
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatalf("ack: %v", err)
		}
		n++
	}
	if n != 3 {
		t.Fatalf("read %d events, want 3 (%v)", n, batch.Error())
	}

	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := js.Publish(short, eventstore.Subject("t1", domain.Ref{Type: domain.AggregateIndividual, ID: "a1"}), []byte("forged")); err == nil {
		t.Fatal("a downstream client published an event")
	}
	if err := js.DeleteStream(short, eventstore.StreamName); err == nil {
		t.Fatal("a downstream client deleted the stream")
	}
	if _, err := js.CreateOrUpdateStream(short, jetstream.StreamConfig{Name: "OTHER", Subjects: []string{"x.>"}}); err == nil {
		t.Fatal("a downstream client created a stream")
	}
	select {
	case err := <-violations:
		if !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Fatalf("async error %v, want a permissions violation", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the server did not report the refused publish")
	}
	if after, err := s.LastSequence(ctx); err != nil || after != head {
		t.Fatalf("after the downstream client: last sequence %d (%v), want %d", after, err, head)
	}
	if info, err := s.Durables(ctx, "erp"); err != nil || len(info) != 1 || info[0].AckFloor != head {
		t.Fatalf("the downstream consumer: %+v, %v; want acknowledged up to %d", info, err, head)
	}
}
