// Command jsconform drives a server's JetStream through nats.go's JetStream API (the legacy
// nc.JetStream() context of nats.go 1.22: js.go, kv.go, object.go), the way a Go application
// does, and reports what worked. It exists so gnat can be checked against the Go client as well
// as the Node ones, and so the same checks can be run against nats-server: a check that fails on
// gnat and passes on nats-server is a gnat bug; one that fails on both is a bug in the check.
//
// Each check is bounded by -timeout and prints one JSON line:
//
//	{"check":"pull","ok":true,"detail":"…","ms":123}
//
// Checks (-check all runs them in this order; a comma-separated list runs those):
//
//	stream     AddStream, StreamInfo, publish with a msg id (and its duplicate), GetMsg,
//	           GetLastMsg, DeleteMsg, PurgeStream (by subject, then all)
//	pull       durable pull consumer, explicit ack: Fetch(100) over 2,000 messages, each acked and
//	           seen once; ConsumerInfo settles at 0 ack pending / 0 pending; Nak (redelivered with
//	           NumDelivered 2), Term, InProgress, AckSync
//	push       js.Subscribe durable with explicit acks, 1,000 messages; then a push consumer with
//	           idle heartbeats and flow control over 5,000 messages of 1 KiB
//	queue      js.QueueSubscribe, two members in one deliver group: each message to one member
//	ordered    js.Subscribe with nats.OrderedConsumer() reads 1,000 messages in order
//	kv         CreateKeyValue (history 5, TTL), Put/Get/Update, wrong revision, Create on an
//	           existing key, Delete, Purge, Keys, History, Watch / WatchAll, Status
//	obj        CreateObjectStore, 5 MB Put/Get with SHA-256 compared, List, GetInfo, Watch, Delete
//	workqueue  WorkQueuePolicy stream: an overlapping second consumer is refused, acked
//	           messages are removed; an InterestPolicy stream keeps a message until all acked
//	listing    300 streams and 300 consumers: nats.go's paged listers see every one
//	restart1   (not in all) a file stream, a durable half consumed, KV and object store entries;
//	restart2   after the server restarted on the same store: all of it back, the durable resumes
//
// Only 127.0.0.1 is dialled. Build (GOPATH mode, Debian's nats.go, no network):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off GOCACHE=/tmp/gocache \
//	  go build -o /tmp/jsconform ./go/jsconform
//
// Run:
//
//	jsconform -port 4222 -check all
//	jsconform -port 4222 -check kv,obj -timeout 30s
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Result is the JSON line printed for each check.
type Result struct {
	Check  string `json:"check"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	Ms     int64  `json:"ms"`
}

// run is the state one check carries: its connection, its JetStream context and the step it is
// at (so a timeout can say where it stopped).
type run struct {
	nc    *nats.Conn
	js    nats.JetStreamContext
	step  atomic.Value
	notes []string
	mu    sync.Mutex
}

func (r *run) at(step string) { r.step.Store(step) }

func (r *run) note(format string, args ...interface{}) {
	r.mu.Lock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

type check struct {
	name string
	fn   func(r *run) error
}

var checks = []check{
	{"stream", checkStream},
	{"pull", checkPull},
	{"push", checkPush},
	{"queue", checkQueue},
	{"ordered", checkOrdered},
	{"kv", checkKV},
	{"obj", checkObj},
	{"workqueue", checkWorkQueue},
	{"listing", checkListing},
	// Not in "all": run restart1, restart the server on the same store, then restart2.
	{"restart1", checkRestart1},
	{"restart2", checkRestart2},
}

var wait = 10 * time.Second

func main() {
	port := flag.Int("port", 4222, "server port on 127.0.0.1")
	which := flag.String("check", "all", "all, or a comma-separated list of: stream,pull,push,queue,ordered,kv,obj,workqueue,listing")
	timeout := flag.Duration("timeout", 60*time.Second, "bound on each check")
	flag.Parse()
	if *timeout < wait {
		wait = *timeout
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*which, ",") {
		want[strings.TrimSpace(n)] = true
	}
	url := fmt.Sprintf("nats://127.0.0.1:%d", *port)
	enc := json.NewEncoder(os.Stdout)
	ran := 0
	failed := false
	for _, c := range checks {
		if !want[c.name] && (!want["all"] || strings.HasPrefix(c.name, "restart")) {
			continue
		}
		ran++
		res := runCheck(url, c, *timeout)
		failed = failed || !res.OK
		_ = enc.Encode(res)
	}
	if ran == 0 {
		fmt.Fprintf(os.Stderr, "no such check: %s\n", *which)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func runCheck(url string, c check, timeout time.Duration) Result {
	start := time.Now()
	res := Result{Check: c.name}
	nc, err := nats.Connect(url, nats.NoReconnect(), nats.Name("jsconform-"+c.name))
	if err != nil {
		res.Detail = "connect: " + err.Error()
		return res
	}
	defer nc.Close()
	js, err := nc.JetStream(nats.MaxWait(wait))
	if err != nil {
		res.Detail = "JetStream(): " + err.Error()
		return res
	}
	r := &run{nc: nc, js: js}
	r.at("start")
	done := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- fmt.Errorf("panic: %v", p)
			}
		}()
		done <- c.fn(r)
	}()
	select {
	case err = <-done:
	case <-time.After(timeout):
		err = fmt.Errorf("timed out after %v", timeout)
	}
	res.Ms = time.Since(start).Milliseconds()
	r.mu.Lock()
	notes := strings.Join(r.notes, "; ")
	r.mu.Unlock()
	if err != nil {
		res.Detail = fmt.Sprintf("at %q: %v", r.step.Load(), err)
		if notes != "" {
			res.Detail += " [" + notes + "]"
		}
		return res
	}
	res.OK = true
	res.Detail = notes
	return res
}

// --- helpers ---------------------------------------------------------------------------------

func fail(format string, args ...interface{}) error { return fmt.Errorf(format, args...) }

// apiCode is the JetStream err_code of an error, or 0.
func apiCode(err error) int {
	var ae *nats.APIError
	if errors.As(err, &ae) {
		return int(ae.ErrorCode)
	}
	return 0
}

// eventually retries cond until it holds or the wait runs out: acks are fire-and-forget, so a
// server may apply them a little after ConsumerInfo is asked.
func eventually(what string, cond func() (bool, string, error)) error {
	deadline := time.Now().Add(wait)
	for {
		ok, state, err := cond()
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: never held (last: %s)", what, state)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func publishN(r *run, subject string, n int, size int) error {
	payload := make([]byte, size)
	for i := 0; i < n; i++ {
		copy(payload, fmt.Sprintf("%08d", i))
		if _, err := r.js.PublishAsync(subject, payload); err != nil {
			return fmt.Errorf("publish %d: %w", i, err)
		}
	}
	select {
	case <-r.js.PublishAsyncComplete():
		return nil
	case <-time.After(wait):
		return fmt.Errorf("%d async publishes still pending", r.js.PublishAsyncPending())
	}
}

func addStream(r *run, cfg *nats.StreamConfig) (*nats.StreamInfo, error) {
	_ = r.js.DeleteStream(cfg.Name)
	return r.js.AddStream(cfg)
}

func consumerSettled(r *run, stream, consumer string) func() (bool, string, error) {
	return func() (bool, string, error) {
		ci, err := r.js.ConsumerInfo(stream, consumer)
		if err != nil {
			return false, "", err
		}
		state := fmt.Sprintf("num_ack_pending %d, num_pending %d, delivered %d, ack_floor %d", ci.NumAckPending, ci.NumPending, ci.Delivered.Stream, ci.AckFloor.Stream)
		return ci.NumAckPending == 0 && ci.NumPending == 0, state, nil
	}
}

// --- stream ----------------------------------------------------------------------------------

func checkStream(r *run) error {
	js := r.js
	r.at("AddStream")
	si, err := addStream(r, &nats.StreamConfig{Name: "CONF_STREAM", Subjects: []string{"conf.stream.>"}, Storage: nats.FileStorage, Duplicates: time.Minute})
	if err != nil {
		return err
	}
	if si.Config.Name != "CONF_STREAM" || len(si.Config.Subjects) != 1 || si.Config.Duplicates != time.Minute {
		return fail("AddStream config echoed back as %+v", si.Config)
	}
	defer js.DeleteStream("CONF_STREAM")

	r.at("StreamInfo")
	si, err = js.StreamInfo("CONF_STREAM")
	if err != nil {
		return err
	}
	if si.State.Msgs != 0 || si.Config.Storage != nats.FileStorage || si.Config.Retention != nats.LimitsPolicy {
		return fail("fresh stream info %+v", si)
	}
	if _, err = js.StreamInfo("CONF_NOPE"); !errors.Is(err, nats.ErrStreamNotFound) {
		return fail("StreamInfo of a missing stream: %v, want stream not found", err)
	}

	r.at("Publish with msg id")
	ack, err := js.Publish("conf.stream.a", []byte("one"), nats.MsgId("id-1"))
	if err != nil {
		return err
	}
	if ack.Stream != "CONF_STREAM" || ack.Sequence != 1 || ack.Duplicate {
		return fail("first publish ack %+v", ack)
	}
	r.at("Publish duplicate msg id")
	ack, err = js.Publish("conf.stream.a", []byte("one again"), nats.MsgId("id-1"))
	if err != nil {
		return err
	}
	if ack.Sequence != 1 || !ack.Duplicate {
		return fail("duplicate publish ack %+v, want sequence 1 duplicate", ack)
	}
	m := nats.NewMsg("conf.stream.b")
	m.Data = []byte("two")
	m.Header.Set("X-Conf", "hdr")
	if _, err = js.PublishMsg(m, nats.MsgId("id-2")); err != nil {
		return err
	}
	if _, err = js.Publish("conf.stream.b", []byte("three")); err != nil {
		return err
	}
	r.at("Publish with expected last sequence")
	if _, err = js.Publish("conf.stream.c", []byte("x"), nats.ExpectLastSequence(1)); err == nil || apiCode(err) != 10071 {
		return fail("publish expecting last sequence 1 (it is 3): %v, want err_code 10071", err)
	}
	r.note("wrong last seq: %v", err)
	if _, err = js.Publish("conf.stream.c", []byte("four"), nats.ExpectLastSequence(3)); err != nil {
		return fail("publish expecting last sequence 3: %v", err)
	}

	r.at("StreamInfo after publishes")
	si, err = js.StreamInfo("CONF_STREAM")
	if err != nil {
		return err
	}
	if si.State.Msgs != 4 || si.State.FirstSeq != 1 || si.State.LastSeq != 4 {
		return fail("state after 4 publishes: %+v", si.State)
	}

	r.at("GetMsg")
	rm, err := js.GetMsg("CONF_STREAM", 2)
	if err != nil {
		return err
	}
	if rm.Subject != "conf.stream.b" || string(rm.Data) != "two" || rm.Sequence != 2 || rm.Header.Get("X-Conf") != "hdr" {
		return fail("GetMsg(2) = %q %q seq %d header %v", rm.Subject, rm.Data, rm.Sequence, rm.Header)
	}
	if _, err = js.GetMsg("CONF_STREAM", 99); !errors.Is(err, nats.ErrMsgNotFound) {
		return fail("GetMsg(99): %v, want message not found", err)
	}
	r.at("GetLastMsg")
	rm, err = js.GetLastMsg("CONF_STREAM", "conf.stream.b")
	if err != nil {
		return err
	}
	if rm.Sequence != 3 || string(rm.Data) != "three" {
		return fail("GetLastMsg(conf.stream.b) = seq %d %q", rm.Sequence, rm.Data)
	}

	r.at("DeleteMsg")
	if err = js.DeleteMsg("CONF_STREAM", 2); err != nil {
		return err
	}
	if _, err = js.GetMsg("CONF_STREAM", 2); !errors.Is(err, nats.ErrMsgNotFound) {
		return fail("GetMsg of a deleted message: %v", err)
	}
	if err = js.DeleteMsg("CONF_STREAM", 2); err == nil {
		return fail("deleting a deleted message succeeded")
	}
	r.note("delete again: %v", err)
	si, err = js.StreamInfo("CONF_STREAM")
	if err != nil {
		return err
	}
	if si.State.Msgs != 3 || si.State.NumDeleted != 1 {
		return fail("state after DeleteMsg: %+v", si.State)
	}

	r.at("StreamInfo with deleted_details")
	si, err = js.StreamInfo("CONF_STREAM", &nats.StreamInfoRequest{DeletedDetails: true})
	if err != nil {
		return err
	}
	if len(si.State.Deleted) != 1 || si.State.Deleted[0] != 2 {
		return fail("deleted details %v, want [2]", si.State.Deleted)
	}
	r.at("PurgeStream by subject")
	if err = js.PurgeStream("CONF_STREAM", &nats.StreamPurgeRequest{Subject: "conf.stream.a"}); err != nil {
		return err
	}
	si, err = js.StreamInfo("CONF_STREAM")
	if err != nil {
		return err
	}
	if si.State.Msgs != 2 {
		return fail("state after purging conf.stream.a: %+v", si.State)
	}
	r.at("PurgeStream keep")
	for i := 0; i < 4; i++ {
		if _, err = js.Publish("conf.stream.k", []byte(fmt.Sprint(i))); err != nil {
			return err
		}
	}
	// Sequences 5-8 on conf.stream.k; keep the last 2 of them.
	if err = js.PurgeStream("CONF_STREAM", &nats.StreamPurgeRequest{Subject: "conf.stream.k", Keep: 2}); err != nil {
		return err
	}
	if _, err = js.GetMsg("CONF_STREAM", 6); !errors.Is(err, nats.ErrMsgNotFound) {
		return fail("seq 6 after purge keeping 2: %v", err)
	}
	if rm, err := js.GetMsg("CONF_STREAM", 7); err != nil || string(rm.Data) != "2" {
		return fail("seq 7 after purge keeping 2: %v", err)
	}
	r.at("PurgeStream up to a sequence")
	if err = js.PurgeStream("CONF_STREAM", &nats.StreamPurgeRequest{Sequence: 8}); err != nil {
		return err
	}
	si, err = js.StreamInfo("CONF_STREAM")
	if err != nil {
		return err
	}
	if si.State.FirstSeq != 8 || si.State.Msgs != 1 {
		return fail("state after purging below seq 8: %+v", si.State)
	}
	r.at("PurgeStream")
	if err = js.PurgeStream("CONF_STREAM"); err != nil {
		return err
	}
	si, err = js.StreamInfo("CONF_STREAM")
	if err != nil {
		return err
	}
	if si.State.Msgs != 0 || si.State.LastSeq != 8 || si.State.FirstSeq != 9 {
		return fail("state after purge: %+v", si.State)
	}
	if err = streamMore(r); err != nil {
		return err
	}
	r.at("DeleteStream")
	if err = js.DeleteStream("CONF_STREAM"); err != nil {
		return err
	}
	if _, err = js.StreamInfo("CONF_STREAM"); !errors.Is(err, nats.ErrStreamNotFound) {
		return fail("StreamInfo after delete: %v", err)
	}
	return nil
}

// wantCode checks that err is a JetStream API error with this err_code.
func wantCode(r *run, what string, err error, code int) error {
	if err == nil {
		return fail("%s succeeded, want err_code %d", what, code)
	}
	if c := apiCode(err); c != code {
		return fail("%s: %v (err_code %d), want err_code %d", what, err, c, code)
	}
	r.note("%s: %v", what, err)
	return nil
}

// streamMore: UpdateStream, subject state, listings, account info, the publish expectations
// and limits that refuse a message.
func streamMore(r *run) error {
	js := r.js
	r.at("UpdateStream")
	si, err := js.UpdateStream(&nats.StreamConfig{Name: "CONF_STREAM", Subjects: []string{"conf.stream.>", "conf.more.*"}, Storage: nats.FileStorage, Duplicates: time.Minute, MaxMsgsPerSubject: 2, AllowDirect: true})
	if err != nil {
		return err
	}
	if len(si.Config.Subjects) != 2 || si.Config.MaxMsgsPerSubject != 2 {
		return fail("UpdateStream echoed %+v", si.Config)
	}
	r.at("UpdateStream of an immutable field")
	_, err = js.UpdateStream(&nats.StreamConfig{Name: "CONF_STREAM", Subjects: []string{"conf.stream.>"}, Storage: nats.MemoryStorage})
	if err := wantCode(r, "changing storage", err, 10052); err != nil {
		return err
	}
	r.at("per-subject limit")
	for i := 0; i < 3; i++ {
		if _, err = js.Publish("conf.more.x", []byte(fmt.Sprint(i))); err != nil {
			return err
		}
	}
	if _, err = js.Publish("conf.more.y", []byte("y")); err != nil {
		return err
	}
	r.at("StreamInfo with subjects_filter")
	si, err = js.StreamInfo("CONF_STREAM", &nats.StreamInfoRequest{SubjectsFilter: "conf.more.*"})
	if err != nil {
		return err
	}
	if si.State.Msgs != 3 || si.State.NumSubjects != 2 || si.State.Subjects["conf.more.x"] != 2 || si.State.Subjects["conf.more.y"] != 1 {
		return fail("state with subjects: msgs %d num_subjects %d subjects %v", si.State.Msgs, si.State.NumSubjects, si.State.Subjects)
	}
	r.at("DirectGet")
	dm, err := js.GetMsg("CONF_STREAM", si.State.LastSeq, nats.DirectGet())
	if err != nil {
		return err
	}
	if dm.Sequence != si.State.LastSeq || dm.Subject != "conf.more.y" || string(dm.Data) != "y" || dm.Time.IsZero() {
		return fail("direct get of seq %d: %+v", si.State.LastSeq, dm)
	}
	dm, err = js.GetMsg("CONF_STREAM", 1, nats.DirectGetNext("conf.more.x"))
	if err != nil {
		return err
	}
	if dm.Subject != "conf.more.x" || string(dm.Data) != "1" {
		return fail("direct get next by subject: %q %q seq %d", dm.Subject, dm.Data, dm.Sequence)
	}
	dm, err = js.GetLastMsg("CONF_STREAM", "conf.more.x", nats.DirectGet())
	if err != nil {
		return err
	}
	if string(dm.Data) != "2" {
		return fail("direct get last by subject: %q", dm.Data)
	}
	if _, err = js.GetMsg("CONF_STREAM", 999, nats.DirectGet()); !errors.Is(err, nats.ErrMsgNotFound) {
		return fail("direct get of a missing seq: %v", err)
	}
	if _, err = js.GetLastMsg("CONF_STREAM", "conf.more.none", nats.DirectGet()); !errors.Is(err, nats.ErrMsgNotFound) {
		return fail("direct get last of a subject with no messages: %v", err)
	}

	r.at("StreamNameBySubject")
	name, err := js.StreamNameBySubject("conf.more.x")
	if err != nil || name != "CONF_STREAM" {
		return fail("StreamNameBySubject(conf.more.x) = %q, %v", name, err)
	}
	if name, err = js.StreamNameBySubject("conf.stream.deep.er"); err != nil || name != "CONF_STREAM" {
		return fail("StreamNameBySubject(conf.stream.deep.er) = %q, %v", name, err)
	}
	if name, err = js.StreamNameBySubject("conf.nowhere"); !errors.Is(err, nats.ErrNoMatchingStream) {
		return fail("StreamNameBySubject of a subject no stream takes = %q, %v", name, err)
	}
	if _, err = js.SubscribeSync("conf.nowhere"); !errors.Is(err, nats.ErrNoMatchingStream) {
		return fail("js.SubscribeSync on a subject no stream takes: %v", err)
	}
	r.at("StreamNames")
	found := false
	for n := range js.StreamNames() {
		found = found || n == "CONF_STREAM"
	}
	if !found {
		return fail("StreamNames does not list CONF_STREAM")
	}
	found = false
	for info := range js.Streams() {
		found = found || (info.Config.Name == "CONF_STREAM" && info.State.Msgs == 3)
	}
	if !found {
		return fail("Streams does not list CONF_STREAM with 3 messages")
	}
	r.at("AccountInfo")
	ai, err := js.AccountInfo()
	if err != nil {
		return err
	}
	if ai.Streams < 1 || ai.API.Total == 0 {
		return fail("AccountInfo %+v", ai)
	}
	lim, _ := json.Marshal(ai.Limits)
	r.note("account limits %s", lim)
	// A server without account limits: everything unlimited, as nats-server reports it.
	if l := ai.Limits; l.MaxMemory != -1 || l.MaxStore != -1 || l.MaxStreams != -1 || l.MaxConsumers != -1 || l.MaxAckPending != -1 || l.MemoryMaxStreamBytes != -1 || l.StoreMaxStreamBytes != -1 || l.MaxBytesRequired {
		return fail("account limits %s, want all -1 and max_bytes_required false", lim)
	}
	errorsBefore := ai.API.Errors
	if _, err = js.StreamInfo("CONF_NOPE"); err == nil {
		return fail("StreamInfo of a missing stream succeeded")
	}
	ai, err = js.AccountInfo()
	if err != nil {
		return err
	}
	if ai.API.Errors != errorsBefore+1 {
		return fail("api errors %d after one failed request, was %d", ai.API.Errors, errorsBefore)
	}

	r.at("ExpectStream")
	_, err = js.Publish("conf.more.z", []byte("z"), nats.ExpectStream("OTHER"))
	if err := wantCode(r, "expected stream mismatch", err, 10060); err != nil {
		return err
	}
	r.at("ExpectLastSequencePerSubject")
	_, err = js.Publish("conf.more.x", []byte("z"), nats.ExpectLastSequencePerSubject(1))
	if err := wantCode(r, "wrong last subject sequence", err, 10071); err != nil {
		return err
	}
	lm, err := js.GetLastMsg("CONF_STREAM", "conf.more.x")
	if err != nil {
		return err
	}
	if _, err = js.Publish("conf.more.x", []byte("z"), nats.ExpectLastSequencePerSubject(lm.Sequence)); err != nil {
		return fail("publish expecting subject sequence %d: %v", lm.Sequence, err)
	}
	r.at("ExpectLastMsgId")
	if _, err = js.Publish("conf.more.y", []byte("m"), nats.MsgId("m-1")); err != nil {
		return err
	}
	_, err = js.Publish("conf.more.y", []byte("m"), nats.ExpectLastMsgId("m-0"))
	if err := wantCode(r, "wrong last msg id", err, 10070); err != nil {
		return err
	}
	if _, err = js.Publish("conf.more.y", []byte("m"), nats.ExpectLastMsgId("m-1")); err != nil {
		return fail("publish expecting last msg id m-1: %v", err)
	}
	r.at("publish with no stream")
	if _, err = js.Publish("conf.nostream", []byte("x")); !errors.Is(err, nats.ErrNoStreamResponse) {
		return fail("publish to a subject no stream takes: %v, want no response from stream", err)
	}

	r.at("SecureDeleteMsg")
	if err = js.SecureDeleteMsg("CONF_STREAM", lm.Sequence); err != nil {
		return err
	}
	if _, err = js.GetMsg("CONF_STREAM", lm.Sequence); !errors.Is(err, nats.ErrMsgNotFound) {
		return fail("GetMsg after SecureDeleteMsg: %v", err)
	}

	r.at("DiscardNew with MaxMsgs")
	if _, err = addStream(r, &nats.StreamConfig{Name: "CONF_LIMITS", Subjects: []string{"conf.limits.>"}, MaxMsgs: 2, Discard: nats.DiscardNew, MaxMsgSize: 16, Storage: nats.MemoryStorage}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_LIMITS")
	r.at("MaxMsgSize")
	_, err = js.Publish("conf.limits.a", make([]byte, 17))
	if err := wantCode(r, "message over max_msg_size", err, 10054); err != nil {
		return err
	}
	for i := 0; i < 2; i++ {
		if _, err = js.Publish("conf.limits.a", []byte("ok")); err != nil {
			return err
		}
	}
	r.at("DiscardNew refuses")
	_, err = js.Publish("conf.limits.a", []byte("no"))
	if err := wantCode(r, "publish over max_msgs with discard new", err, 10077); err != nil {
		return err
	}

	r.at("max_age expires messages; the duplicate window follows it")
	si, err = addStream(r, &nats.StreamConfig{Name: "CONF_AGE", Subjects: []string{"conf.age.>"}, MaxAge: 400 * time.Millisecond, Storage: nats.MemoryStorage})
	if err != nil {
		return err
	}
	defer js.DeleteStream("CONF_AGE")
	if si.Config.Duplicates != 400*time.Millisecond {
		return fail("max_age 400ms with the default duplicate window: duplicate_window %v, want 400ms", si.Config.Duplicates)
	}
	if _, err = js.Publish("conf.age.a", []byte("short-lived")); err != nil {
		return err
	}
	if err := eventually("aged out", func() (bool, string, error) {
		si, err := js.StreamInfo("CONF_AGE")
		if err != nil {
			return false, "", err
		}
		return si.State.Msgs == 0 && si.State.FirstSeq == 2, fmt.Sprintf("%+v", si.State), nil
	}); err != nil {
		return err
	}
	r.at("max_bytes with discard old")
	if _, err = addStream(r, &nats.StreamConfig{Name: "CONF_BYTES", Subjects: []string{"conf.bytes.>"}, MaxBytes: 1000, Storage: nats.MemoryStorage}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_BYTES")
	for i := 0; i < 20; i++ {
		if _, err = js.Publish("conf.bytes.a", make([]byte, 100)); err != nil {
			return err
		}
	}
	si, err = js.StreamInfo("CONF_BYTES")
	if err != nil {
		return err
	}
	if si.State.Bytes > 1000 || si.State.LastSeq != 20 || si.State.Msgs == 0 || si.State.Msgs >= 10 {
		return fail("max_bytes 1000 after 20 × 100 B: %+v", si.State)
	}
	r.note("max_bytes 1000 keeps %d messages, %d bytes", si.State.Msgs, si.State.Bytes)

	r.at("stored bytes as nats-server counts them")
	for _, st := range []nats.StorageType{nats.FileStorage, nats.MemoryStorage} {
		if _, err = addStream(r, &nats.StreamConfig{Name: "CONF_SIZE", Subjects: []string{"conf.size.>"}, Storage: st}); err != nil {
			return err
		}
		if _, err = js.Publish("conf.size.a", make([]byte, 10)); err != nil {
			return err
		}
		hm := nats.NewMsg("conf.size.a")
		hm.Header.Set("X", "y")
		hm.Data = make([]byte, 10)
		if _, err = js.PublishMsg(hm); err != nil {
			return err
		}
		si, err = js.StreamInfo("CONF_SIZE")
		if err != nil {
			return err
		}
		// File records: 22 + subject + data + 8, plus 4 + headers; memory: subject + headers
		// + data + 16 (nats-server's fileStoreMsgSize and memStoreMsgSize).
		want := map[nats.StorageType]uint64{nats.FileStorage: 51 + 73, nats.MemoryStorage: 37 + 55}[st]
		if si.State.Bytes != want {
			return fail("%v stream with two small messages holds %d bytes, want %d", st, si.State.Bytes, want)
		}
		_ = js.DeleteStream("CONF_SIZE")
	}

	r.at("AddStream again, same config")
	if _, err = js.AddStream(&nats.StreamConfig{Name: "CONF_LIMITS", Subjects: []string{"conf.limits.>"}, MaxMsgs: 2, Discard: nats.DiscardNew, MaxMsgSize: 16, Storage: nats.MemoryStorage}); err != nil {
		return fail("AddStream of an existing stream with the same config: %v", err)
	}
	r.at("AddStream again, other config")
	_, err = js.AddStream(&nats.StreamConfig{Name: "CONF_LIMITS", Subjects: []string{"conf.limits.>"}, MaxMsgs: 3, Storage: nats.MemoryStorage})
	if err := wantCode(r, "existing name, other config", err, 10058); err != nil {
		return err
	}
	r.at("AddStream with overlapping subjects")
	_, err = js.AddStream(&nats.StreamConfig{Name: "CONF_OVERLAP", Subjects: []string{"conf.limits.a"}, Storage: nats.MemoryStorage})
	if err := wantCode(r, "overlapping subjects", err, 10065); err != nil {
		return err
	}
	r.at("AddConsumer with a filter outside the stream")
	_, err = js.AddConsumer("CONF_LIMITS", &nats.ConsumerConfig{Durable: "OUT", AckPolicy: nats.AckExplicitPolicy, FilterSubject: "elsewhere.>"})
	// nats-server 2.9 refuses it (10093); 2.10 dropped that check and creates it.
	if err != nil && apiCode(err) != 10093 {
		return fail("a consumer filtered outside the stream's subjects: %v, want success (2.10) or err_code 10093 (2.9)", err)
	}
	r.note("filter outside the stream: %v", err)
	_ = js.DeleteConsumer("CONF_LIMITS", "OUT")
	r.at("AddConsumer again")
	if _, err = js.AddConsumer("CONF_LIMITS", &nats.ConsumerConfig{Durable: "SAME", AckPolicy: nats.AckExplicitPolicy}); err != nil {
		return err
	}
	if _, err = js.AddConsumer("CONF_LIMITS", &nats.ConsumerConfig{Durable: "SAME", AckPolicy: nats.AckExplicitPolicy}); err != nil {
		return fail("AddConsumer of an existing durable with the same config: %v", err)
	}
	_, err = js.AddConsumer("CONF_LIMITS", &nats.ConsumerConfig{Durable: "SAME", AckPolicy: nats.AckExplicitPolicy, MaxDeliver: 3})
	if err == nil {
		return fail("AddConsumer of an existing durable with another config succeeded")
	}
	r.note("existing durable, other config: %v (%d)", err, apiCode(err))

	r.at("consumer listing")
	for _, d := range []string{"C1", "C2"} {
		if _, err = js.AddConsumer("CONF_STREAM", &nats.ConsumerConfig{Durable: d, AckPolicy: nats.AckExplicitPolicy, FilterSubject: "conf.more.*"}); err != nil {
			return err
		}
	}
	var names []string
	for n := range js.ConsumerNames("CONF_STREAM") {
		names = append(names, n)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "C1,C2" {
		return fail("ConsumerNames = %v", names)
	}
	count := 0
	for ci := range js.Consumers("CONF_STREAM") {
		if ci.Stream != "CONF_STREAM" || ci.NumPending != 3 {
			return fail("Consumers lists %s with stream %q num_pending %d", ci.Name, ci.Stream, ci.NumPending)
		}
		count++
	}
	if count != 2 {
		return fail("Consumers listed %d", count)
	}
	r.at("UpdateConsumer")
	ci, err := js.UpdateConsumer("CONF_STREAM", &nats.ConsumerConfig{Durable: "C1", AckPolicy: nats.AckExplicitPolicy, FilterSubject: "conf.more.*", Description: "updated", MaxAckPending: 10})
	if err != nil {
		return err
	}
	if ci.Config.Description != "updated" || ci.Config.MaxAckPending != 10 {
		return fail("UpdateConsumer echoed %+v", ci.Config)
	}
	r.at("DeleteConsumer")
	if err = js.DeleteConsumer("CONF_STREAM", "C2"); err != nil {
		return err
	}
	if _, err = js.ConsumerInfo("CONF_STREAM", "C2"); !errors.Is(err, nats.ErrConsumerNotFound) {
		return fail("ConsumerInfo of a deleted consumer: %v", err)
	}
	if err = js.DeleteConsumer("CONF_STREAM", "C2"); !errors.Is(err, nats.ErrConsumerNotFound) {
		return fail("deleting a deleted consumer: %v", err)
	}
	return nil
}

// --- pull ------------------------------------------------------------------------------------

func checkPull(r *run) error {
	js := r.js
	const n = 2000
	r.at("AddStream")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_PULL", Subjects: []string{"conf.pull.>"}}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_PULL")
	r.at("publish")
	if err := publishN(r, "conf.pull.x", n, 32); err != nil {
		return err
	}
	r.at("AddConsumer")
	ci, err := js.AddConsumer("CONF_PULL", &nats.ConsumerConfig{Durable: "PULLER", AckPolicy: nats.AckExplicitPolicy, AckWait: 30 * time.Second})
	if err != nil {
		return err
	}
	if ci.Name != "PULLER" || ci.Config.Durable != "PULLER" || ci.NumPending != n {
		return fail("AddConsumer info: name %q durable %q num_pending %d", ci.Name, ci.Config.Durable, ci.NumPending)
	}
	r.at("PullSubscribe")
	sub, err := js.PullSubscribe("conf.pull.>", "PULLER", nats.Bind("CONF_PULL", "PULLER"))
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()

	r.at("Fetch loop")
	seen := make(map[uint64]bool, n)
	fetches := 0
	for len(seen) < n {
		msgs, err := sub.Fetch(100, nats.MaxWait(wait))
		fetches++
		if err != nil {
			return fmt.Errorf("fetch %d (after %d messages): %w", fetches, len(seen), err)
		}
		if len(msgs) > 100 {
			return fail("Fetch(100) returned %d messages", len(msgs))
		}
		for _, m := range msgs {
			md, err := m.Metadata()
			if err != nil {
				return fmt.Errorf("metadata of %q: %w", m.Reply, err)
			}
			if seen[md.Sequence.Stream] {
				return fail("stream sequence %d delivered twice", md.Sequence.Stream)
			}
			if md.NumDelivered != 1 || md.Stream != "CONF_PULL" || md.Consumer != "PULLER" {
				return fail("metadata %+v", md)
			}
			if md.NumPending != n-md.Sequence.Stream {
				return fail("metadata num_pending %d at stream seq %d of %d", md.NumPending, md.Sequence.Stream, n)
			}
			if d := time.Since(md.Timestamp); d < -time.Minute || d > time.Minute {
				return fail("metadata timestamp %v is %v from now", md.Timestamp, d)
			}
			seen[md.Sequence.Stream] = true
			if err := m.Ack(); err != nil {
				return err
			}
		}
	}
	for s := uint64(1); s <= n; s++ {
		if !seen[s] {
			return fail("stream sequence %d never delivered", s)
		}
	}
	r.note("%d fetches for %d messages", fetches, n)
	r.at("ConsumerInfo settles")
	if err := eventually("0 ack pending, 0 pending", consumerSettled(r, "CONF_PULL", "PULLER")); err != nil {
		return err
	}

	fetchOne := func(what string) (*nats.Msg, *nats.MsgMetadata, error) {
		r.at("Fetch(1) for " + what)
		msgs, err := sub.Fetch(1, nats.MaxWait(wait))
		if err != nil {
			return nil, nil, err
		}
		if len(msgs) != 1 {
			return nil, nil, fail("Fetch(1) returned %d", len(msgs))
		}
		md, err := msgs[0].Metadata()
		return msgs[0], md, err
	}
	r.at("publish 4 more")
	if err := publishN(r, "conf.pull.y", 4, 8); err != nil {
		return err
	}

	m, md, err := fetchOne("Nak")
	if err != nil {
		return err
	}
	if md.Sequence.Stream != n+1 {
		return fail("first new message is stream seq %d, want %d", md.Sequence.Stream, n+1)
	}
	// Acks are fire-and-forget unless a wait is given; a synchronous Nak makes "the next
	// Fetch gets the redelivery" a fact rather than a race.
	r.at("Nak")
	if err := m.Nak(nats.AckWait(wait)); err != nil {
		return err
	}
	m, md2, err := fetchOne("redelivery")
	if err != nil {
		return err
	}
	if md2.Sequence.Stream != md.Sequence.Stream || md2.NumDelivered != 2 {
		return fail("after Nak got stream seq %d delivered %d times, want seq %d delivered 2", md2.Sequence.Stream, md2.NumDelivered, md.Sequence.Stream)
	}
	if md2.Sequence.Consumer <= md.Sequence.Consumer {
		return fail("redelivery consumer seq %d not after %d", md2.Sequence.Consumer, md.Sequence.Consumer)
	}
	r.at("AckSync redelivered")
	if err := m.AckSync(); err != nil {
		return err
	}

	m, md, err = fetchOne("Term")
	if err != nil {
		return err
	}
	if md.Sequence.Stream != n+2 {
		return fail("after the redelivery got stream seq %d, want %d", md.Sequence.Stream, n+2)
	}
	r.at("Term")
	if err := m.Term(nats.AckWait(wait)); err != nil {
		return err
	}

	m, md, err = fetchOne("InProgress")
	if err != nil {
		return err
	}
	if md.Sequence.Stream != n+3 || md.NumDelivered != 1 {
		return fail("after Term got stream seq %d delivered %d, want %d delivered 1 (a termed message is not redelivered)", md.Sequence.Stream, md.NumDelivered, n+3)
	}
	r.at("InProgress")
	if err := m.InProgress(nats.AckWait(wait)); err != nil {
		return err
	}
	r.at("ConsumerInfo while in progress")
	ci, err = js.ConsumerInfo("CONF_PULL", "PULLER")
	if err != nil {
		return err
	}
	if ci.NumAckPending != 1 {
		return fail("num_ack_pending %d with one message in progress", ci.NumAckPending)
	}
	r.at("AckSync after InProgress")
	if err := m.AckSync(); err != nil {
		return err
	}

	m, _, err = fetchOne("AckSync")
	if err != nil {
		return err
	}
	r.at("AckSync")
	if err := m.AckSync(); err != nil {
		return err
	}
	r.at("ConsumerInfo at the end")
	ci, err = js.ConsumerInfo("CONF_PULL", "PULLER")
	if err != nil {
		return err
	}
	if ci.NumAckPending != 0 || ci.NumPending != 0 || ci.Delivered.Stream != n+4 || ci.AckFloor.Stream != n+4 || ci.NumRedelivered != 0 {
		return fail("final consumer info: ack_pending %d pending %d delivered %+v ack_floor %+v redelivered %d", ci.NumAckPending, ci.NumPending, ci.Delivered, ci.AckFloor, ci.NumRedelivered)
	}
	r.at("Fetch on an empty consumer")
	msgs, err := sub.Fetch(1, nats.MaxWait(300*time.Millisecond))
	if !errors.Is(err, nats.ErrTimeout) || len(msgs) != 0 {
		return fail("Fetch with nothing pending: %d msgs, %v; want a timeout", len(msgs), err)
	}
	r.at("partial batch")
	if err := publishN(r, "conf.pull.z", 5, 8); err != nil {
		return err
	}
	start := time.Now()
	msgs, err = sub.Fetch(100, nats.MaxWait(wait))
	if err != nil {
		return err
	}
	if len(msgs) != 5 || time.Since(start) > wait/2 {
		return fail("Fetch(100) with 5 pending gave %d after %v", len(msgs), time.Since(start))
	}
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			return err
		}
	}
	if err := pullConcurrent(r); err != nil {
		return err
	}
	return pullMore(r)
}

// pullConcurrent: eight fetchers on their own connections share one durable over 4,000
// messages; together they see each message once.
func pullConcurrent(r *run) error {
	js := r.js
	const n, workers = 4000, 8
	r.at("concurrent fetchers")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_PULLC", Subjects: []string{"conf.pullc"}, Storage: nats.MemoryStorage}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_PULLC")
	if err := publishN(r, "conf.pullc", n, 16); err != nil {
		return err
	}
	if _, err := js.AddConsumer("CONF_PULLC", &nats.ConsumerConfig{Durable: "SHARED", AckPolicy: nats.AckExplicitPolicy, AckWait: time.Minute}); err != nil {
		return err
	}
	var mu sync.Mutex
	seen := map[uint64]int{}
	var total int64
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			nc, err := nats.Connect(r.nc.ConnectedUrl(), nats.NoReconnect())
			if err != nil {
				errs <- err
				return
			}
			defer nc.Close()
			wjs, err := nc.JetStream(nats.MaxWait(wait))
			if err != nil {
				errs <- err
				return
			}
			sub, err := wjs.PullSubscribe("conf.pullc", "SHARED", nats.Bind("CONF_PULLC", "SHARED"))
			if err != nil {
				errs <- err
				return
			}
			for atomic.LoadInt64(&total) < n {
				msgs, err := sub.Fetch(25, nats.MaxWait(time.Second))
				if errors.Is(err, nats.ErrTimeout) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				for _, m := range msgs {
					md, _ := m.Metadata()
					mu.Lock()
					seen[md.Sequence.Stream]++
					mu.Unlock()
					atomic.AddInt64(&total, 1)
					if err := m.Ack(); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		select {
		case err := <-errs:
			if err != nil {
				return err
			}
		case <-time.After(wait + 5*time.Second):
			return fail("fetchers stalled at %d of %d", atomic.LoadInt64(&total), n)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	for seq := uint64(1); seq <= n; seq++ {
		if seen[seq] != 1 {
			return fail("stream seq %d fetched %d times by %d fetchers", seq, seen[seq], workers)
		}
	}
	return nil
}

// pullMore: ack wait and max deliver, NakWithDelay, AckAll, max ack pending, an ephemeral pull
// consumer, and a consumer filtered to one subject.
func pullMore(r *run) error {
	js := r.js
	r.at("AddStream CONF_PULL2")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_PULL2", Subjects: []string{"conf.pull2.>"}, Storage: nats.MemoryStorage}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_PULL2")
	if err := publishN(r, "conf.pull2.a", 20, 8); err != nil {
		return err
	}
	if err := publishN(r, "conf.pull2.b", 5, 8); err != nil {
		return err
	}

	r.at("ack wait redelivery, max deliver 2")
	if _, err := js.AddConsumer("CONF_PULL2", &nats.ConsumerConfig{Durable: "AW", AckPolicy: nats.AckExplicitPolicy, AckWait: 300 * time.Millisecond, MaxDeliver: 2, FilterSubject: "conf.pull2.b"}); err != nil {
		return err
	}
	aw, err := js.PullSubscribe("conf.pull2.b", "AW", nats.Bind("CONF_PULL2", "AW"))
	if err != nil {
		return err
	}
	defer aw.Unsubscribe()
	first, err := aw.Fetch(1, nats.MaxWait(wait))
	if err != nil {
		return err
	}
	md1, _ := first[0].Metadata()
	if md1.Sequence.Stream != 21 {
		return fail("filtered consumer's first message is stream seq %d, want 21", md1.Sequence.Stream)
	}
	// Not acked: after the ack wait the same message comes back, delivered twice.
	var again *nats.MsgMetadata
	for again == nil {
		msgs, err := aw.Fetch(1, nats.MaxWait(wait))
		if err != nil {
			return fmt.Errorf("waiting for the redelivery: %w", err)
		}
		md, _ := msgs[0].Metadata()
		if md.Sequence.Stream == md1.Sequence.Stream {
			again = md
		} else if err := msgs[0].AckSync(); err != nil {
			return err
		}
	}
	if again.NumDelivered != 2 {
		return fail("redelivery after ack wait has num_delivered %d", again.NumDelivered)
	}
	r.at("no third delivery past max deliver")
	for {
		msgs, err := aw.Fetch(1, nats.MaxWait(time.Second))
		if errors.Is(err, nats.ErrTimeout) {
			break
		}
		if err != nil {
			return err
		}
		md, _ := msgs[0].Metadata()
		if md.Sequence.Stream == md1.Sequence.Stream {
			return fail("stream seq %d delivered %d times with max_deliver 2", md.Sequence.Stream, md.NumDelivered)
		}
		if err := msgs[0].AckSync(); err != nil {
			return err
		}
	}

	r.at("NakWithDelay")
	if _, err := js.AddConsumer("CONF_PULL2", &nats.ConsumerConfig{Durable: "ND", AckPolicy: nats.AckExplicitPolicy, FilterSubject: "conf.pull2.b"}); err != nil {
		return err
	}
	nd, err := js.PullSubscribe("conf.pull2.b", "ND", nats.Bind("CONF_PULL2", "ND"))
	if err != nil {
		return err
	}
	defer nd.Unsubscribe()
	msgs, err := nd.Fetch(1, nats.MaxWait(wait))
	if err != nil {
		return err
	}
	delayed, _ := msgs[0].Metadata()
	nakAt := time.Now()
	if err := msgs[0].NakWithDelay(400*time.Millisecond, nats.AckWait(wait)); err != nil {
		return err
	}
	for {
		msgs, err = nd.Fetch(1, nats.MaxWait(wait))
		if err != nil {
			return fmt.Errorf("waiting for the delayed redelivery: %w", err)
		}
		md, _ := msgs[0].Metadata()
		if err := msgs[0].AckSync(); err != nil {
			return err
		}
		if md.Sequence.Stream == delayed.Sequence.Stream {
			if d := time.Since(nakAt); d < 350*time.Millisecond {
				return fail("redelivered %v after a Nak with a 400ms delay", d)
			}
			break
		}
	}

	r.at("AckAll")
	if _, err := js.AddConsumer("CONF_PULL2", &nats.ConsumerConfig{Durable: "ALL", AckPolicy: nats.AckAllPolicy, FilterSubject: "conf.pull2.a"}); err != nil {
		return err
	}
	all, err := js.PullSubscribe("conf.pull2.a", "ALL", nats.Bind("CONF_PULL2", "ALL"))
	if err != nil {
		return err
	}
	defer all.Unsubscribe()
	msgs, err = all.Fetch(10, nats.MaxWait(wait))
	if err != nil {
		return err
	}
	if len(msgs) != 10 {
		return fail("Fetch(10) gave %d", len(msgs))
	}
	if err := msgs[9].AckSync(); err != nil {
		return err
	}
	ci, err := js.ConsumerInfo("CONF_PULL2", "ALL")
	if err != nil {
		return err
	}
	if ci.NumAckPending != 0 || ci.AckFloor.Stream != 10 || ci.NumPending != 10 {
		return fail("after acking the 10th with ack all: ack_pending %d ack_floor %+v num_pending %d", ci.NumAckPending, ci.AckFloor, ci.NumPending)
	}

	r.at("max ack pending")
	if _, err := js.AddConsumer("CONF_PULL2", &nats.ConsumerConfig{Durable: "MAP", AckPolicy: nats.AckExplicitPolicy, MaxAckPending: 3, FilterSubject: "conf.pull2.a"}); err != nil {
		return err
	}
	mapSub, err := js.PullSubscribe("conf.pull2.a", "MAP", nats.Bind("CONF_PULL2", "MAP"))
	if err != nil {
		return err
	}
	defer mapSub.Unsubscribe()
	msgs, err = mapSub.Fetch(10, nats.MaxWait(time.Second))
	if err != nil {
		return err
	}
	if len(msgs) != 3 {
		return fail("Fetch(10) with max_ack_pending 3 gave %d", len(msgs))
	}
	for _, m := range msgs {
		if err := m.AckSync(); err != nil {
			return err
		}
	}
	msgs, err = mapSub.Fetch(10, nats.MaxWait(time.Second))
	if err != nil {
		return err
	}
	if md, _ := msgs[0].Metadata(); len(msgs) != 3 || md.Sequence.Stream != 4 {
		return fail("after acking 3, Fetch(10) gave %d starting at %d", len(msgs), md.Sequence.Stream)
	}

	r.at("max_batch refuses a bigger Fetch")
	if _, err := js.AddConsumer("CONF_PULL2", &nats.ConsumerConfig{Durable: "MB", AckPolicy: nats.AckExplicitPolicy, MaxRequestBatch: 4, MaxWaiting: 1, FilterSubject: "conf.pull2.a"}); err != nil {
		return err
	}
	mb, err := js.PullSubscribe("conf.pull2.a", "MB", nats.Bind("CONF_PULL2", "MB"))
	if err != nil {
		return err
	}
	defer mb.Unsubscribe()
	_, err = mb.Fetch(5, nats.MaxWait(wait))
	if err == nil || err.Error() != "nats: Exceeded MaxRequestBatch of 4" {
		return fail("Fetch(5) with max_batch 4: %v, want nats: Exceeded MaxRequestBatch of 4", err)
	}
	msgs, err = mb.Fetch(4, nats.MaxWait(wait))
	if err != nil || len(msgs) != 4 {
		return fail("Fetch(4) with max_batch 4: %d, %v", len(msgs), err)
	}
	r.at("max_waiting refuses a second waiting request")
	// One Fetch waits on the empty filtered consumer; a second, from another subscription
	// bound to the same consumer, finds max_waiting 1 used.
	if _, err := js.AddConsumer("CONF_PULL2", &nats.ConsumerConfig{Durable: "MW", AckPolicy: nats.AckExplicitPolicy, MaxWaiting: 1, FilterSubject: "conf.pull2.none"}); err != nil {
		return err
	}
	mw1, err := js.PullSubscribe("conf.pull2.none", "MW", nats.Bind("CONF_PULL2", "MW"))
	if err != nil {
		return err
	}
	defer mw1.Unsubscribe()
	mw2, err := js.PullSubscribe("conf.pull2.none", "MW", nats.Bind("CONF_PULL2", "MW"))
	if err != nil {
		return err
	}
	defer mw2.Unsubscribe()
	firstDone := make(chan error, 1)
	go func() {
		_, err := mw1.Fetch(1, nats.MaxWait(3*time.Second))
		firstDone <- err
	}()
	if err := eventually("one request waiting", func() (bool, string, error) {
		ci, err := js.ConsumerInfo("CONF_PULL2", "MW")
		if err != nil {
			return false, "", err
		}
		return ci.NumWaiting == 1, fmt.Sprintf("num_waiting %d", ci.NumWaiting), nil
	}); err != nil {
		return err
	}
	_, err = mw2.Fetch(1, nats.MaxWait(time.Second))
	r.note("second waiting request: %v", err)
	if err == nil || err.Error() != "nats: Exceeded MaxWaiting" {
		return fail("a second Fetch past max_waiting 1: %v, want nats: Exceeded MaxWaiting", err)
	}
	if err := <-firstDone; !errors.Is(err, nats.ErrTimeout) {
		return fail("the waiting Fetch ended with %v, want a timeout", err)
	}

	r.at("a Fetch from a connection that closed stops counting in num_waiting")
	ncGone, err := nats.Connect(r.nc.ConnectedUrl(), nats.NoReconnect())
	if err != nil {
		return err
	}
	jsGone, err := ncGone.JetStream(nats.MaxWait(wait))
	if err != nil {
		ncGone.Close()
		return err
	}
	subGone, err := jsGone.PullSubscribe("conf.pull2.none", "MW", nats.Bind("CONF_PULL2", "MW"))
	if err != nil {
		ncGone.Close()
		return err
	}
	go func() { _, _ = subGone.Fetch(1, nats.MaxWait(20*time.Second)) }()
	if err := eventually("the Fetch waiting", func() (bool, string, error) {
		ci, err := js.ConsumerInfo("CONF_PULL2", "MW")
		if err != nil {
			return false, "", err
		}
		return ci.NumWaiting == 1, fmt.Sprintf("num_waiting %d", ci.NumWaiting), nil
	}); err != nil {
		ncGone.Close()
		return err
	}
	ncGone.Close()
	if err := eventually("num_waiting back to 0", func() (bool, string, error) {
		ci, err := js.ConsumerInfo("CONF_PULL2", "MW")
		if err != nil {
			return false, "", err
		}
		return ci.NumWaiting == 0, fmt.Sprintf("num_waiting %d", ci.NumWaiting), nil
	}); err != nil {
		return err
	}

	r.at("a waiting Fetch learns its consumer was deleted")
	if _, err := js.AddConsumer("CONF_PULL2", &nats.ConsumerConfig{Durable: "GONE", AckPolicy: nats.AckExplicitPolicy, FilterSubject: "conf.pull2.none"}); err != nil {
		return err
	}
	gone, err := js.PullSubscribe("conf.pull2.none", "GONE", nats.Bind("CONF_PULL2", "GONE"))
	if err != nil {
		return err
	}
	goneDone := make(chan error, 1)
	go func() {
		_, err := gone.Fetch(1, nats.MaxWait(wait))
		goneDone <- err
	}()
	if err := eventually("the Fetch waiting", func() (bool, string, error) {
		ci, err := js.ConsumerInfo("CONF_PULL2", "GONE")
		if err != nil {
			return false, "", err
		}
		return ci.NumWaiting == 1, fmt.Sprintf("num_waiting %d", ci.NumWaiting), nil
	}); err != nil {
		return err
	}
	if err := js.DeleteConsumer("CONF_PULL2", "GONE"); err != nil {
		return err
	}
	select {
	case err := <-goneDone:
		if !errors.Is(err, nats.ErrConsumerDeleted) {
			return fail("Fetch on a deleted consumer ended with %v, want %v", err, nats.ErrConsumerDeleted)
		}
	case <-time.After(wait):
		return fail("the waiting Fetch never ended after its consumer was deleted")
	}

	r.at("a durable with inactive_threshold goes when unused")
	if _, err := js.AddConsumer("CONF_PULL2", &nats.ConsumerConfig{Durable: "IDLE", AckPolicy: nats.AckExplicitPolicy, InactiveThreshold: 300 * time.Millisecond}); err != nil {
		return err
	}
	if err := eventually("inactive durable deleted", func() (bool, string, error) {
		_, err := js.ConsumerInfo("CONF_PULL2", "IDLE")
		return errors.Is(err, nats.ErrConsumerNotFound), fmt.Sprint(err), nil
	}); err != nil {
		return err
	}

	r.at("ephemeral pull")
	eph, err := js.PullSubscribe("conf.pull2.b", "", nats.BindStream("CONF_PULL2"))
	if err != nil {
		return err
	}
	msgs, err = eph.Fetch(10, nats.MaxWait(wait))
	if err != nil {
		return err
	}
	if len(msgs) != 5 {
		return fail("ephemeral pull Fetch(10) over 5 gave %d", len(msgs))
	}
	for i, m := range msgs {
		if md, _ := m.Metadata(); md.NumPending != uint64(4-i) {
			return fail("filtered ephemeral: message %d has num_pending %d, want %d", i, md.NumPending, 4-i)
		}
	}
	info, err := eph.ConsumerInfo()
	if err != nil {
		return err
	}
	if info.Config.Durable != "" || info.Config.FilterSubject != "conf.pull2.b" {
		return fail("ephemeral pull consumer config %+v", info.Config)
	}
	r.at("Unsubscribe removes the ephemeral")
	if err := eph.Unsubscribe(); err != nil {
		return err
	}
	return eventually("ephemeral consumer deleted", func() (bool, string, error) {
		_, err := js.ConsumerInfo("CONF_PULL2", info.Name)
		if errors.Is(err, nats.ErrConsumerNotFound) {
			return true, "", nil
		}
		return false, fmt.Sprint(err), nil
	})
}

// --- push ------------------------------------------------------------------------------------

func checkPush(r *run) error {
	js := r.js
	const n = 1000
	r.at("AddStream")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_PUSH", Subjects: []string{"conf.push.>"}}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_PUSH")
	if err := publishN(r, "conf.push.x", n, 32); err != nil {
		return err
	}
	r.at("Subscribe durable")
	var mu sync.Mutex
	seen := map[uint64]bool{}
	dupes := 0
	done := make(chan struct{})
	var ackErr error
	sub, err := js.Subscribe("conf.push.>", func(m *nats.Msg) {
		md, err := m.Metadata()
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			ackErr = err
			return
		}
		if seen[md.Sequence.Stream] {
			dupes++
		}
		seen[md.Sequence.Stream] = true
		if err := m.Ack(); err != nil && ackErr == nil {
			ackErr = err
		}
		if len(seen) == n {
			close(done)
		}
	}, nats.Durable("PUSHER"), nats.ManualAck(), nats.AckExplicit(), nats.DeliverAll())
	if err != nil {
		return err
	}
	r.at("receive 1,000")
	select {
	case <-done:
	case <-time.After(wait):
		mu.Lock()
		defer mu.Unlock()
		return fail("received %d of %d", len(seen), n)
	}
	mu.Lock()
	if ackErr != nil || dupes != 0 {
		mu.Unlock()
		return fail("ack error %v, %d duplicates", ackErr, dupes)
	}
	mu.Unlock()
	r.at("ConsumerInfo settles")
	if err := eventually("0 ack pending, 0 pending", consumerSettled(r, "CONF_PUSH", "PUSHER")); err != nil {
		return err
	}
	ci, err := js.ConsumerInfo("CONF_PUSH", "PUSHER")
	if err != nil {
		return err
	}
	if ci.Config.DeliverSubject == "" || ci.Config.AckPolicy != nats.AckExplicitPolicy || ci.Delivered.Stream != n {
		return fail("push consumer info %+v", ci)
	}
	r.at("Unsubscribe removes the durable js.Subscribe created")
	if err := sub.Unsubscribe(); err != nil {
		return err
	}
	if err := eventually("durable deleted", func() (bool, string, error) {
		_, err := js.ConsumerInfo("CONF_PUSH", "PUSHER")
		return errors.Is(err, nats.ErrConsumerNotFound), fmt.Sprint(err), nil
	}); err != nil {
		return err
	}
	if err := pushMore(r); err != nil {
		return err
	}
	return pushFlowControl(r)
}

// pushMore: SubscribeSync/NextMsg, deliver policies, headers only, and idle heartbeats that
// keep nats.go from declaring the consumer inactive.
func pushMore(r *run) error {
	js := r.js
	r.at("SubscribeSync DeliverLastPerSubject")
	m := nats.NewMsg("conf.push.y")
	m.Header.Set("X-Last", "yes")
	m.Data = []byte("last of y")
	if _, err := js.PublishMsg(m); err != nil {
		return err
	}
	sync1, err := js.SubscribeSync("conf.push.>", nats.DeliverLastPerSubject())
	if err != nil {
		return err
	}
	var subjects []string
	for i := 0; i < 2; i++ {
		m, err := sync1.NextMsg(wait)
		if err != nil {
			return fmt.Errorf("NextMsg %d: %w", i, err)
		}
		md, _ := m.Metadata()
		subjects = append(subjects, fmt.Sprintf("%s@%d", m.Subject, md.Sequence.Stream))
		_ = m.Ack()
	}
	if strings.Join(subjects, ",") != "conf.push.x@1000,conf.push.y@1001" {
		return fail("DeliverLastPerSubject delivered %v", subjects)
	}
	if m, err := sync1.NextMsg(300 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		return fail("a third message from DeliverLastPerSubject: %v %v", m, err)
	}
	_ = sync1.Unsubscribe()

	r.at("StartSequence + HeadersOnly")
	sync2, err := js.SubscribeSync("conf.push.>", nats.StartSequence(999), nats.HeadersOnly(), nats.AckNone())
	if err != nil {
		return err
	}
	defer sync2.Unsubscribe()
	for _, want := range []uint64{999, 1000, 1001} {
		m, err := sync2.NextMsg(wait)
		if err != nil {
			return err
		}
		md, _ := m.Metadata()
		if md.Sequence.Stream != want || len(m.Data) != 0 || m.Header.Get("Nats-Msg-Size") == "" {
			return fail("headers-only seq %d (want %d) data %d bytes Nats-Msg-Size %q", md.Sequence.Stream, want, len(m.Data), m.Header.Get("Nats-Msg-Size"))
		}
		if want == 1001 && (m.Header.Get("X-Last") != "yes" || m.Header.Get("Nats-Msg-Size") != "9") {
			return fail("headers-only message lost its headers: %v", m.Header)
		}
	}

	r.at("a second subscriber on a bound push durable")
	bound, err := js.SubscribeSync("conf.push.>", nats.Durable("BOUND"), nats.DeliverNew())
	if err != nil {
		return err
	}
	if _, err := js.SubscribeSync("conf.push.>", nats.Durable("BOUND")); err == nil || !strings.Contains(err.Error(), "already bound") {
		return fail("a second subscription to a bound push durable: %v, want consumer is already bound", err)
	}
	if _, err := js.QueueSubscribeSync("conf.push.>", "q", nats.Durable("BOUND")); err == nil {
		return fail("a queue subscription to a push durable without a deliver group succeeded")
	} else {
		r.note("queue on a non-queue durable: %v", err)
	}
	_ = bound.Unsubscribe()

	r.at("ChanSubscribe StartTime")
	// Everything so far was stored before now; one more after.
	mark := time.Now()
	if _, err := js.Publish("conf.push.t", []byte("after mark")); err != nil {
		return err
	}
	ch := make(chan *nats.Msg, 16)
	cs, err := js.ChanSubscribe("conf.push.>", ch, nats.StartTime(mark), nats.AckNone())
	if err != nil {
		return err
	}
	select {
	case m := <-ch:
		if string(m.Data) != "after mark" {
			return fail("StartTime delivered %q first", m.Data)
		}
	case <-time.After(wait):
		return fail("StartTime consumer delivered nothing")
	}
	_ = cs.Unsubscribe()

	r.at("ReplayOriginal")
	for i := 0; i < 3; i++ {
		if i > 0 {
			time.Sleep(150 * time.Millisecond)
		}
		if _, err := js.Publish("conf.push.r", []byte(fmt.Sprint(i))); err != nil {
			return err
		}
	}
	rs, err := js.SubscribeSync("conf.push.r", nats.DeliverAll(), nats.ReplayOriginal(), nats.AckNone())
	if err != nil {
		return err
	}
	var times []time.Time
	for i := 0; i < 3; i++ {
		if _, err := rs.NextMsg(wait); err != nil {
			return err
		}
		times = append(times, time.Now())
	}
	_ = rs.Unsubscribe()
	if d := times[2].Sub(times[0]); d < 250*time.Millisecond {
		return fail("replay original delivered 3 messages stored 300ms apart within %v", d)
	}

	r.at("push max_ack_pending holds back until acks")
	mp, err := js.SubscribeSync("conf.push.x", nats.Durable("MAXP"), nats.MaxAckPending(10), nats.ManualAck(), nats.DeliverAll())
	if err != nil {
		return err
	}
	var held []*nats.Msg
	for len(held) < 10 {
		m, err := mp.NextMsg(wait)
		if err != nil {
			return err
		}
		held = append(held, m)
	}
	if m, err := mp.NextMsg(300 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		return fail("an 11th message with max_ack_pending 10: %v %v", m, err)
	}
	for _, m := range held {
		if err := m.AckSync(); err != nil {
			return err
		}
	}
	if m, err := mp.NextMsg(wait); err != nil {
		return fmt.Errorf("no delivery after acking: %w", err)
	} else if md, _ := m.Metadata(); md.Sequence.Stream != 11 {
		return fail("after acking 10, stream seq %d", md.Sequence.Stream)
	}
	_ = mp.Unsubscribe()

	r.at("a bound push durable resumes after its subscriber leaves")
	if _, err := js.AddConsumer("CONF_PUSH", &nats.ConsumerConfig{Durable: "RESUME", DeliverSubject: "conf.resume.deliver", AckPolicy: nats.AckExplicitPolicy, AckWait: time.Second, FilterSubject: "conf.push.x"}); err != nil {
		return err
	}
	first1, err := js.SubscribeSync("conf.push.x", nats.Bind("CONF_PUSH", "RESUME"))
	if err != nil {
		return err
	}
	for i := 1; i <= 300; i++ {
		m, err := first1.NextMsg(wait)
		if err != nil {
			return err
		}
		if md, _ := m.Metadata(); md.Sequence.Stream != uint64(i) {
			return fail("first subscriber got stream seq %d at %d", md.Sequence.Stream, i)
		}
		if err := m.AckSync(); err != nil {
			return err
		}
	}
	// Unsubscribing a bound subscription leaves the consumer (nats.go deletes only what it made).
	if err := first1.Unsubscribe(); err != nil {
		return err
	}
	if _, err := js.ConsumerInfo("CONF_PUSH", "RESUME"); err != nil {
		return fmt.Errorf("the bound durable after Unsubscribe: %w", err)
	}
	second, err := js.SubscribeSync("conf.push.x", nats.Bind("CONF_PUSH", "RESUME"))
	if err != nil {
		return err
	}
	defer second.Unsubscribe()
	seen := map[uint64]bool{}
	for len(seen) < 700 {
		m, err := second.NextMsg(wait)
		if err != nil {
			return fmt.Errorf("after resuming, %d of 700: %w", len(seen), err)
		}
		md, _ := m.Metadata()
		if md.Sequence.Stream <= 300 {
			return fail("an acked message (stream seq %d) came again after resuming", md.Sequence.Stream)
		}
		seen[md.Sequence.Stream] = true
		if err := m.Ack(); err != nil {
			return err
		}
	}
	if err := eventually("resumed durable settled", consumerSettled(r, "CONF_PUSH", "RESUME")); err != nil {
		return err
	}

	r.at("push redelivery with backoff and max deliver")
	adv, err := r.nc.SubscribeSync("$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.CONF_PUSH.BACKOFF")
	if err != nil {
		return err
	}
	defer adv.Unsubscribe()
	if err := r.nc.Flush(); err != nil {
		return err
	}
	bo, err := js.SubscribeSync("conf.push.y", nats.Durable("BACKOFF"), nats.DeliverLast(), nats.ManualAck(),
		nats.BackOff([]time.Duration{200 * time.Millisecond, 400 * time.Millisecond}), nats.MaxDeliver(3))
	if err != nil {
		return err
	}
	defer bo.Unsubscribe()
	var at []time.Time
	var lastSeq uint64
	for i := 1; i <= 3; i++ {
		m, err := bo.NextMsg(wait)
		if err != nil {
			return fmt.Errorf("delivery %d: %w", i, err)
		}
		md, _ := m.Metadata()
		if md.NumDelivered != uint64(i) || (lastSeq != 0 && md.Sequence.Stream != lastSeq) {
			return fail("delivery %d: stream seq %d num_delivered %d", i, md.Sequence.Stream, md.NumDelivered)
		}
		lastSeq = md.Sequence.Stream
		at = append(at, time.Now())
	}
	if d := at[1].Sub(at[0]); d < 150*time.Millisecond {
		return fail("second delivery %v after the first, backoff 200ms", d)
	}
	if d := at[2].Sub(at[1]); d < 350*time.Millisecond {
		return fail("third delivery %v after the second, backoff 400ms", d)
	}
	am, err := adv.NextMsg(wait)
	if err != nil {
		return fmt.Errorf("MAX_DELIVERIES advisory: %w", err)
	}
	var advisory struct {
		Type       string `json:"type"`
		Stream     string `json:"stream"`
		Consumer   string `json:"consumer"`
		StreamSeq  uint64 `json:"stream_seq"`
		Deliveries uint64 `json:"deliveries"`
	}
	if err := json.Unmarshal(am.Data, &advisory); err != nil {
		return err
	}
	if advisory.Type != "io.nats.jetstream.advisory.v1.max_deliver" || advisory.Stream != "CONF_PUSH" || advisory.Consumer != "BACKOFF" || advisory.StreamSeq != lastSeq || advisory.Deliveries != 3 {
		return fail("MAX_DELIVERIES advisory %s", am.Data)
	}
	if m, err := bo.NextMsg(600 * time.Millisecond); !errors.Is(err, nats.ErrTimeout) {
		return fail("a fourth delivery with max_deliver 3: %v %v", m, err)
	}

	r.at("idle heartbeats")
	var mu sync.Mutex
	var asyncErrs []string
	r.nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		mu.Lock()
		asyncErrs = append(asyncErrs, err.Error())
		mu.Unlock()
	})
	hb, err := js.SubscribeSync("conf.push.y", nats.IdleHeartbeat(100*time.Millisecond), nats.DeliverNew())
	if err != nil {
		return err
	}
	defer hb.Unsubscribe()
	hbInfo, err := hb.ConsumerInfo()
	if err != nil {
		return err
	}
	// A spy on the deliver subject times the heartbeats (nats.go swallows them).
	var beats []time.Time
	spy, err := r.nc.Subscribe(hbInfo.Config.DeliverSubject, func(m *nats.Msg) {
		if m.Header.Get("Status") == "100" && len(m.Data) == 0 {
			mu.Lock()
			beats = append(beats, time.Now())
			mu.Unlock()
		}
	})
	if err != nil {
		return err
	}
	// nats.go checks for activity every two heartbeat intervals and reports an inactive
	// consumer to the error handler; a second of silence is five intervals.
	if m, err := hb.NextMsg(time.Second); !errors.Is(err, nats.ErrTimeout) {
		return fail("heartbeats surfaced as a message: %v %v", m, err)
	}
	_ = spy.Unsubscribe()
	mu.Lock()
	var maxGap time.Duration
	for i := 1; i < len(beats); i++ {
		if g := beats[i].Sub(beats[i-1]); g > maxGap {
			maxGap = g
		}
	}
	n := len(beats)
	mu.Unlock()
	// Heartbeats 100ms apart; nats.go's activity window is 200ms.
	if n < 5 || maxGap >= 180*time.Millisecond {
		return fail("%d heartbeats in a second of idling, largest gap %v (idle_heartbeat 100ms)", n, maxGap)
	}
	if _, err := js.Publish("conf.push.y", []byte("after idle")); err != nil {
		return err
	}
	got, err := hb.NextMsg(wait)
	if err != nil {
		return err
	}
	if string(got.Data) != "after idle" {
		return fail("after idle got %q", got.Data)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(asyncErrs) != 0 {
		return fail("async errors while idle with heartbeats: %v", asyncErrs)
	}
	return nil
}

// pushFlowControl: idle heartbeats and flow control on a push consumer, 5,000 messages of 1 KiB;
// the handler is slowed a little at the start so the server has to wait on flow control.
func pushFlowControl(r *run) error {
	js := r.js
	const n = 5000
	r.at("AddStream for flow control")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_FC", Subjects: []string{"conf.fc.>"}}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_FC")
	if err := publishN(r, "conf.fc.x", n, 1024); err != nil {
		return err
	}
	r.at("Subscribe with heartbeats and flow control")
	var count int64
	var last uint64
	var order error
	done := make(chan struct{})
	sub, err := js.Subscribe("conf.fc.>", func(m *nats.Msg) {
		md, err := m.Metadata()
		if err != nil {
			order = err
			return
		}
		if md.Sequence.Stream != last+1 && order == nil {
			order = fail("stream seq %d after %d", md.Sequence.Stream, last)
		}
		last = md.Sequence.Stream
		if c := atomic.AddInt64(&count, 1); c == n {
			close(done)
		} else if c < 200 {
			time.Sleep(time.Millisecond)
		}
	}, nats.Durable("FC"), nats.AckNone(), nats.IdleHeartbeat(500*time.Millisecond), nats.EnableFlowControl(), nats.DeliverAll())
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	r.at("receive 5,000 under flow control")
	select {
	case <-done:
	case <-time.After(wait):
		return fail("received %d of %d under flow control", atomic.LoadInt64(&count), n)
	}
	if order != nil {
		return order
	}
	ci, err := js.ConsumerInfo("CONF_FC", "FC")
	if err != nil {
		return err
	}
	if !ci.Config.FlowControl || ci.Config.Heartbeat != 500*time.Millisecond || ci.NumPending != 0 || ci.Delivered.Stream != n {
		return fail("flow-control consumer info: flow_control %v idle_heartbeat %v num_pending %d delivered %+v", ci.Config.FlowControl, ci.Config.Heartbeat, ci.NumPending, ci.Delivered)
	}
	_ = sub.Unsubscribe()
	return pushFlowControlSpied(r, n)
}

// pushFlowControlSpied: the same with the consumer made first on a known deliver subject, and a
// plain subscriber on another connection watching that subject, to see the flow-control requests
// and heartbeats the server sends (nats.go answers and swallows them). The handler is slow for
// the first 1,000 messages, so the server has to hold back.
func pushFlowControlSpied(r *run, n int) error {
	js := r.js
	const deliver = "conf.fcdeliver"
	r.at("AddConsumer push with flow control")
	if _, err := js.AddConsumer("CONF_FC", &nats.ConsumerConfig{Durable: "FC2", DeliverSubject: deliver, AckPolicy: nats.AckExplicitPolicy, FlowControl: true, Heartbeat: 200 * time.Millisecond, MaxAckPending: 20000}); err != nil {
		return err
	}
	var mu sync.Mutex
	status := map[string]int{}
	hdrs := map[string]bool{}
	var count int64
	done := make(chan struct{})
	gate := make(chan struct{})
	r.at("Subscribe bound to the flow-controlled consumer")
	sub, err := js.Subscribe("", func(m *nats.Msg) {
		<-gate
		c := atomic.AddInt64(&count, 1)
		_ = m.Ack()
		if c == int64(n) {
			close(done)
		} else if c < 1000 {
			time.Sleep(time.Millisecond)
		}
	}, nats.Bind("CONF_FC", "FC2"), nats.ManualAck())
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	// The spy comes after nats.go's subscription (a second subscriber on the deliver subject
	// would make the consumer push-bound before nats.go binds); the handler holds the first
	// message until the spy listens.
	r.at("spy on the deliver subject")
	spyConn, err := nats.Connect(r.nc.ConnectedUrl(), nats.NoReconnect())
	if err != nil {
		return err
	}
	defer spyConn.Close()
	if _, err := spyConn.Subscribe(deliver, func(m *nats.Msg) {
		if len(m.Data) != 0 || m.Header.Get("Status") == "" {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		status[m.Header.Get("Status")+" "+m.Header.Get("Description")]++
		for k := range m.Header {
			if k != "Status" && k != "Description" {
				hdrs[m.Header.Get("Description")+":"+k] = true
			}
		}
	}); err != nil {
		return err
	}
	if err := spyConn.Flush(); err != nil {
		return err
	}
	close(gate)
	r.at("receive 5,000, slowly at first")
	select {
	case <-done:
	case <-time.After(wait):
		return fail("received %d of %d under flow control", atomic.LoadInt64(&count), n)
	}
	r.at("a heartbeat after the last message")
	if err := eventually("heartbeat seen", func() (bool, string, error) {
		mu.Lock()
		defer mu.Unlock()
		return status["100 Idle Heartbeat"] > 0, fmt.Sprint(status), nil
	}); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	var hk []string
	for k := range hdrs {
		hk = append(hk, k)
	}
	sort.Strings(hk)
	r.note("status messages %v, their headers %v", status, hk)
	if status["100 FlowControl Request"] == 0 {
		return fail("no flow-control request over %d messages of 1 KiB read slowly (%v)", n, status)
	}
	if !hdrs["Idle Heartbeat:Nats-Last-Consumer"] || !hdrs["Idle Heartbeat:Nats-Last-Stream"] {
		return fail("heartbeats without Nats-Last-Consumer / Nats-Last-Stream: %v", hk)
	}
	return nil
}

// --- queue -----------------------------------------------------------------------------------

func checkQueue(r *run) error {
	js := r.js
	const n = 1000
	r.at("AddStream")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_QUEUE", Subjects: []string{"conf.queue.>"}}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_QUEUE")
	var mu sync.Mutex
	owner := map[uint64]int{}
	per := [2]int{}
	var bad error
	done := make(chan struct{})
	handler := func(member int) nats.MsgHandler {
		return func(m *nats.Msg) {
			md, err := m.Metadata()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				bad = err
				return
			}
			if prev, ok := owner[md.Sequence.Stream]; ok && bad == nil {
				bad = fail("stream seq %d to member %d and member %d", md.Sequence.Stream, prev, member)
			}
			owner[md.Sequence.Stream] = member
			per[member]++
			if err := m.Ack(); err != nil && bad == nil {
				bad = err
			}
			if len(owner) == n {
				close(done)
			}
		}
	}
	r.at("QueueSubscribe member 0")
	s0, err := js.QueueSubscribe("conf.queue.>", "workers", handler(0), nats.Durable("WORKERS"), nats.ManualAck(), nats.AckExplicit())
	if err != nil {
		return err
	}
	defer s0.Unsubscribe()
	// The second member on a connection of its own, as two processes of one service would be.
	nc2, err := nats.Connect(r.nc.ConnectedUrl(), nats.NoReconnect())
	if err != nil {
		return err
	}
	defer nc2.Close()
	js2, err := nc2.JetStream(nats.MaxWait(wait))
	if err != nil {
		return err
	}
	r.at("QueueSubscribe member 1")
	s1, err := js2.QueueSubscribe("conf.queue.>", "workers", handler(1), nats.Durable("WORKERS"), nats.ManualAck(), nats.AckExplicit())
	if err != nil {
		return err
	}
	defer s1.Unsubscribe()
	r.at("ConsumerInfo of the queue consumer")
	ci, err := js.ConsumerInfo("CONF_QUEUE", "WORKERS")
	if err != nil {
		return err
	}
	if ci.Config.DeliverGroup != "workers" {
		return fail("deliver_group %q, want workers", ci.Config.DeliverGroup)
	}
	r.at("publish")
	if err := publishN(r, "conf.queue.x", n, 32); err != nil {
		return err
	}
	r.at("receive")
	select {
	case <-done:
	case <-time.After(wait):
		mu.Lock()
		defer mu.Unlock()
		return fail("members got %d of %d (%v)", len(owner), n, per)
	}
	mu.Lock()
	bad0, got := bad, per
	mu.Unlock()
	if bad0 != nil {
		return bad0
	}
	if got[0] == 0 || got[1] == 0 {
		return fail("one member got nothing: %v", got)
	}
	r.note("members got %d and %d", got[0], got[1])
	if err := eventually("0 ack pending, 0 pending", consumerSettled(r, "CONF_QUEUE", "WORKERS")); err != nil {
		return err
	}
	return queueFailover(r)
}

// queueFailover: of two members of a deliver group, one stops acking and goes away; after the
// ack wait its unacked messages go to the member left, which ends up with every message.
func queueFailover(r *run) error {
	js := r.js
	const n = 400
	r.at("AddConsumer for failover")
	if _, err := js.AddConsumer("CONF_QUEUE", &nats.ConsumerConfig{Durable: "FAILOVER", DeliverSubject: "conf.failover.deliver", DeliverGroup: "fo", AckPolicy: nats.AckExplicitPolicy, AckWait: time.Second, DeliverPolicy: nats.DeliverNewPolicy, FilterSubject: "conf.queue.f"}); err != nil {
		return err
	}
	var mu sync.Mutex
	acked := map[uint64]bool{}
	redelivered := 0
	done := make(chan struct{})
	var once sync.Once
	s0, err := js.QueueSubscribe("conf.queue.f", "fo", func(m *nats.Msg) {
		md, _ := m.Metadata()
		if md == nil {
			return
		}
		_ = m.Ack()
		mu.Lock()
		defer mu.Unlock()
		acked[md.Sequence.Stream] = true
		if md.NumDelivered > 1 {
			redelivered++
		}
		if len(acked) == n {
			once.Do(func() { close(done) })
		}
	}, nats.Bind("CONF_QUEUE", "FAILOVER"), nats.ManualAck())
	if err != nil {
		return err
	}
	defer s0.Unsubscribe()
	nc2, err := nats.Connect(r.nc.ConnectedUrl(), nats.NoReconnect())
	if err != nil {
		return err
	}
	js2, err := nc2.JetStream(nats.MaxWait(wait))
	if err != nil {
		nc2.Close()
		return err
	}
	var dropped int64
	if _, err := js2.QueueSubscribe("conf.queue.f", "fo", func(m *nats.Msg) {
		atomic.AddInt64(&dropped, 1) // never acked
	}, nats.Bind("CONF_QUEUE", "FAILOVER"), nats.ManualAck()); err != nil {
		nc2.Close()
		return err
	}
	if err := nc2.Flush(); err != nil {
		nc2.Close()
		return err
	}
	r.at("publish to the group")
	if err := publishN(r, "conf.queue.f", n, 16); err != nil {
		nc2.Close()
		return err
	}
	r.at("the unacking member goes")
	if err := eventually("both members served", func() (bool, string, error) {
		mu.Lock()
		defer mu.Unlock()
		d := int(atomic.LoadInt64(&dropped))
		return len(acked)+d >= n && d > 0, fmt.Sprintf("acked %d, unacked %d", len(acked), d), nil
	}); err != nil {
		nc2.Close()
		return err
	}
	nc2.Close()
	r.at("the member left gets the rest after the ack wait")
	select {
	case <-done:
	case <-time.After(wait):
		mu.Lock()
		defer mu.Unlock()
		return fail("the member left acked %d of %d (%d unacked by the one gone)", len(acked), n, atomic.LoadInt64(&dropped))
	}
	mu.Lock()
	defer mu.Unlock()
	if int64(redelivered) != atomic.LoadInt64(&dropped) {
		return fail("%d redelivered to the member left, %d went unacked", redelivered, atomic.LoadInt64(&dropped))
	}
	r.note("failover: %d redelivered", redelivered)
	return nil
}

// --- ordered ---------------------------------------------------------------------------------

func checkOrdered(r *run) error {
	js := r.js
	const n = 1000
	r.at("AddStream")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_ORDERED", Subjects: []string{"conf.ordered.>"}}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_ORDERED")
	if err := publishN(r, "conf.ordered.x", n, 64); err != nil {
		return err
	}
	r.at("Subscribe OrderedConsumer")
	var next uint64 = 1
	var bad error
	var once, once2 sync.Once
	done := make(chan struct{})
	sub, err := js.Subscribe("conf.ordered.>", func(m *nats.Msg) {
		md, err := m.Metadata()
		if err != nil {
			bad = err
			return
		}
		if md.Sequence.Stream != next && bad == nil {
			bad = fail("stream seq %d, want %d", md.Sequence.Stream, next)
		}
		if want := fmt.Sprintf("%08d", next-1); string(m.Data[:8]) != want && bad == nil {
			bad = fail("payload %q at seq %d, want %q", m.Data[:8], next, want)
		}
		next = md.Sequence.Stream + 1
		if md.Sequence.Stream == n {
			once.Do(func() { close(done) })
		}
	}, nats.OrderedConsumer())
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	r.at("receive in order")
	select {
	case <-done:
	case <-time.After(wait):
		return fail("ordered consumer reached seq %d of %d", next-1, n)
	}
	if bad != nil {
		return bad
	}
	r.at("ordered consumer over interior deletes")
	for seq := uint64(10); seq <= n; seq += 10 {
		if err := js.DeleteMsg("CONF_ORDERED", seq); err != nil {
			return err
		}
	}
	var got []uint64
	gdone := make(chan struct{})
	var gonce sync.Once
	gsub, err := js.Subscribe("conf.ordered.>", func(m *nats.Msg) {
		md, _ := m.Metadata()
		if md == nil {
			return
		}
		got = append(got, md.Sequence.Stream)
		if md.Sequence.Stream == n-1 {
			gonce.Do(func() { close(gdone) })
		}
	}, nats.OrderedConsumer())
	if err != nil {
		return err
	}
	select {
	case <-gdone:
	case <-time.After(wait):
		_ = gsub.Unsubscribe()
		return fail("ordered consumer over deletes got %d messages", len(got))
	}
	_ = gsub.Unsubscribe()
	if len(got) != n-n/10 {
		return fail("ordered consumer over deletes got %d, want %d", len(got), n-n/10)
	}
	for i, seq := range got {
		if seq%10 == 0 || (i > 0 && seq <= got[i-1]) {
			return fail("ordered consumer over deletes: seq %d at %d", seq, i)
		}
	}

	r.at("ordered consumer keeps reading new messages")
	done = make(chan struct{})
	more := n + 10
	sub2, err := js.Subscribe("conf.ordered.>", func(m *nats.Msg) {
		md, _ := m.Metadata()
		if md != nil && md.Sequence.Stream == uint64(more) {
			once2.Do(func() { close(done) })
		}
	}, nats.OrderedConsumer(), nats.DeliverNew())
	if err != nil {
		return err
	}
	defer sub2.Unsubscribe()
	if err := r.nc.Flush(); err != nil {
		return err
	}
	if err := publishN(r, "conf.ordered.y", 10, 8); err != nil {
		return err
	}
	select {
	case <-done:
	case <-time.After(wait):
		return fail("DeliverNew ordered consumer never saw seq %d", more)
	}
	return nil
}

// --- kv --------------------------------------------------------------------------------------

func checkKV(r *run) error {
	js := r.js
	r.at("CreateKeyValue")
	_ = js.DeleteKeyValue("CONF")
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "CONF", History: 5, TTL: time.Hour})
	if err != nil {
		return err
	}
	defer js.DeleteKeyValue("CONF")
	if kv.Bucket() != "CONF" {
		return fail("bucket %q", kv.Bucket())
	}
	r.at("KeyValue (bind)")
	if _, err := js.KeyValue("CONF"); err != nil {
		return err
	}
	if _, err := js.KeyValue("CONF_NOPE"); !errors.Is(err, nats.ErrBucketNotFound) {
		return fail("KeyValue of a missing bucket: %v", err)
	}

	r.at("WatchAll before writes")
	all, err := kv.WatchAll()
	if err != nil {
		return err
	}
	defer all.Stop()
	if e := <-all.Updates(); e != nil {
		return fail("WatchAll on an empty bucket gave %q before its end-of-initial marker", e.Key())
	}

	r.at("Put/Get")
	rev, err := kv.Put("a", []byte("1"))
	if err != nil {
		return err
	}
	if rev != 1 {
		return fail("first Put revision %d", rev)
	}
	e, err := kv.Get("a")
	if err != nil {
		return err
	}
	if string(e.Value()) != "1" || e.Revision() != 1 || e.Operation() != nats.KeyValuePut || e.Key() != "a" {
		return fail("Get(a) = %q rev %d op %v", e.Value(), e.Revision(), e.Operation())
	}
	if _, err := kv.Get("missing"); !errors.Is(err, nats.ErrKeyNotFound) {
		return fail("Get(missing): %v", err)
	}

	r.at("WatchAll sees the put")
	if err := expectUpdate(all, "a", "1", nats.KeyValuePut); err != nil {
		return err
	}

	r.at("Update with revision")
	rev, err = kv.Update("a", []byte("2"), 1)
	if err != nil {
		return err
	}
	if rev != 2 {
		return fail("Update revision %d", rev)
	}
	r.at("Update with a wrong revision")
	if _, err = kv.Update("a", []byte("3"), 1); err == nil || apiCode(err) != 10071 {
		return fail("Update with stale revision: %v, want err_code 10071", err)
	}
	r.note("stale update: %v", err)
	r.at("Create on an existing key")
	if _, err = kv.Create("a", []byte("x")); !errors.Is(err, nats.ErrKeyExists) {
		return fail("Create on existing key: %v, want key exists", err)
	}
	r.at("Create")
	if _, err = kv.Create("b", []byte("B")); err != nil {
		return err
	}
	if _, err = kv.PutString("w.one", "W1"); err != nil {
		return err
	}

	r.at("Watch w.*")
	w, err := kv.Watch("w.*")
	if err != nil {
		return err
	}
	defer w.Stop()
	if err := expectUpdate(w, "w.one", "W1", nats.KeyValuePut); err != nil {
		return err
	}
	if e := <-w.Updates(); e != nil {
		return fail("Watch: expected the end-of-initial marker, got %q", e.Key())
	}
	if _, err = kv.PutString("w.two", "W2"); err != nil {
		return err
	}
	if _, err = kv.PutString("other", "O"); err != nil {
		return err
	}
	if err := expectUpdate(w, "w.two", "W2", nats.KeyValuePut); err != nil {
		return err
	}

	r.at("Watch a sees Delete and Purge")
	wa, err := kv.Watch("a")
	if err != nil {
		return err
	}
	defer wa.Stop()
	if err := expectUpdate(wa, "a", "2", nats.KeyValuePut); err != nil {
		return err
	}
	if e := <-wa.Updates(); e != nil {
		return fail("Watch(a): expected the end-of-initial marker, got %q", e.Key())
	}
	r.at("Delete")
	if err = kv.Delete("a"); err != nil {
		return err
	}
	if err := expectUpdate(wa, "a", "", nats.KeyValueDelete); err != nil {
		return err
	}
	if _, err = kv.Get("a"); !errors.Is(err, nats.ErrKeyNotFound) {
		return fail("Get after Delete: %v", err)
	}
	r.at("Create after Delete")
	if _, err = kv.Create("a", []byte("again")); err != nil {
		return fmt.Errorf("Create on a deleted key: %w", err)
	}
	if err := expectUpdate(wa, "a", "again", nats.KeyValuePut); err != nil {
		return err
	}
	if _, err = kv.Put("a.sub", []byte("not a")); err != nil {
		return err
	}
	r.at("Purge")
	if err = kv.Purge("b"); err != nil {
		return err
	}
	if err = kv.Purge("a.sub"); err != nil {
		return err
	}
	if _, err = kv.Get("b"); !errors.Is(err, nats.ErrKeyNotFound) {
		return fail("Get after Purge: %v", err)
	}
	r.at("Create after Purge")
	if _, err = kv.Create("b", []byte("B2")); err != nil {
		return fmt.Errorf("Create on a purged key: %w", err)
	}
	if e, err := kv.Get("b"); err != nil || string(e.Value()) != "B2" {
		return fail("Get after re-creating a purged key: %v", err)
	}
	if err = kv.Purge("b"); err != nil {
		return err
	}

	r.at("Keys")
	keys, err := kv.Keys()
	if err != nil {
		return err
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "a,other,w.one,w.two" {
		return fail("Keys() = %v", keys)
	}

	r.at("History")
	hist, err := kv.History("a")
	if err != nil {
		return err
	}
	var got []string
	for _, h := range hist {
		got = append(got, fmt.Sprintf("%s:%s", h.Operation(), h.Value()))
	}
	if strings.Join(got, " ") != "KeyValuePutOp:1 KeyValuePutOp:2 KeyValueDeleteOp: KeyValuePutOp:again" {
		return fail("History(a) = %v", got)
	}
	hist, err = kv.History("b")
	if err != nil {
		return err
	}
	if len(hist) != 1 || hist[0].Operation() != nats.KeyValuePurge {
		return fail("History(b) after purge has %d entries", len(hist))
	}
	r.at("history limit 5")
	for i := 0; i < 7; i++ {
		if _, err = kv.PutString("h", fmt.Sprint(i)); err != nil {
			return err
		}
	}
	hist, err = kv.History("h")
	if err != nil {
		return err
	}
	if len(hist) != 5 || string(hist[0].Value()) != "2" || string(hist[4].Value()) != "6" {
		return fail("History(h) after 7 puts with history 5: %d entries", len(hist))
	}

	r.at("Status")
	st, err := kv.Status()
	if err != nil {
		return err
	}
	if st.Bucket() != "CONF" || st.History() != 5 || st.TTL() != time.Hour || st.Values() == 0 || st.BackingStore() != "JetStream" {
		return fail("Status: bucket %q history %d ttl %v values %d", st.Bucket(), st.History(), st.TTL(), st.Values())
	}
	// Values: a (1, 2, delete, again) 4, the purge markers of b and a.sub 2, w.one w.two other 3, h 5 → 14.
	if st.Values() != 14 {
		return fail("Status values %d, want 14", st.Values())
	}
	if err := kvMore(r, kv); err != nil {
		return err
	}
	r.at("KeyValueStoreNames")
	// nats.go 1.22 hands back the stream's name (KV_CONF) here; later versions the bucket's.
	found := false
	for name := range js.KeyValueStoreNames() {
		found = found || name == "CONF" || name == "KV_CONF"
	}
	if !found {
		return fail("KeyValueStoreNames does not list CONF")
	}
	return nil
}

// kvMore: GetRevision, watch options, Delete with a revision, PurgeDeletes, an empty bucket's
// keys, a value size limit and a TTL that expires keys.
func kvMore(r *run, kv nats.KeyValue) error {
	js := r.js
	r.at("GetRevision")
	e, err := kv.GetRevision("a", 2)
	if err != nil {
		return err
	}
	if string(e.Value()) != "2" || e.Revision() != 2 {
		return fail("GetRevision(a, 2) = %q rev %d", e.Value(), e.Revision())
	}
	if _, err = kv.GetRevision("a", 3); !errors.Is(err, nats.ErrKeyNotFound) {
		return fail("GetRevision(a, 3) (a delete marker): %v", err)
	}
	r.at("Watch IncludeHistory")
	w, err := kv.Watch("a", nats.IncludeHistory())
	if err != nil {
		return err
	}
	var ops []string
	for e := range w.Updates() {
		if e == nil {
			break
		}
		ops = append(ops, fmt.Sprintf("%s:%s", e.Operation(), e.Value()))
	}
	_ = w.Stop()
	if strings.Join(ops, " ") != "KeyValuePutOp:1 KeyValuePutOp:2 KeyValueDeleteOp: KeyValuePutOp:again" {
		return fail("Watch(a, IncludeHistory) = %v", ops)
	}
	r.at("WatchAll IgnoreDeletes MetaOnly")
	w, err = kv.WatchAll(nats.IgnoreDeletes(), nats.MetaOnly())
	if err != nil {
		return err
	}
	var keys []string
	for e := range w.Updates() {
		if e == nil {
			break
		}
		if len(e.Value()) != 0 {
			_ = w.Stop()
			return fail("MetaOnly watch gave %s with a %d-byte value", e.Key(), len(e.Value()))
		}
		keys = append(keys, e.Key())
	}
	_ = w.Stop()
	sort.Strings(keys)
	if strings.Join(keys, ",") != "a,h,other,w.one,w.two" {
		return fail("WatchAll(IgnoreDeletes) initial keys %v", keys)
	}
	r.at("Delete with LastRevision")
	e, err = kv.Get("other")
	if err != nil {
		return err
	}
	err = kv.Delete("other", nats.LastRevision(e.Revision()-1))
	if err := wantCode(r, "delete with a stale revision", err, 10071); err != nil {
		return err
	}
	if err = kv.Delete("other", nats.LastRevision(e.Revision())); err != nil {
		return err
	}
	r.at("PurgeDeletes")
	if err = kv.PurgeDeletes(nats.DeleteMarkersOlderThan(-1)); err != nil {
		return err
	}
	if h, err := kv.History("other"); !errors.Is(err, nats.ErrKeyNotFound) {
		return fail("History(other) after PurgeDeletes: %d entries, %v", len(h), err)
	}
	if h, err := kv.History("b"); !errors.Is(err, nats.ErrKeyNotFound) {
		return fail("History(b) after PurgeDeletes: %d entries, %v", len(h), err)
	}

	r.at("200 keys with history: Keys and a watcher's initial values")
	_ = js.DeleteKeyValue("CONF_MANY")
	many, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "CONF_MANY", History: 3, Storage: nats.MemoryStorage})
	if err != nil {
		return err
	}
	defer js.DeleteKeyValue("CONF_MANY")
	for round := 0; round < 3; round++ {
		for i := 0; i < 200; i++ {
			if _, err := js.PublishAsync(fmt.Sprintf("$KV.CONF_MANY.k%03d", i), []byte(fmt.Sprint(round))); err != nil {
				return err
			}
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(wait):
		return fail("publishing 600 values did not complete")
	}
	mk, err := many.Keys()
	if err != nil {
		return err
	}
	if len(mk) != 200 {
		return fail("Keys of 200 keys × 3 revisions gave %d", len(mk))
	}
	mw, err := many.WatchAll()
	if err != nil {
		return err
	}
	initial := 0
	for e := range mw.Updates() {
		if e == nil {
			break
		}
		if string(e.Value()) != "2" {
			_ = mw.Stop()
			return fail("watcher's initial value of %s is %q, want the latest", e.Key(), e.Value())
		}
		initial++
	}
	_ = mw.Stop()
	if initial != 200 {
		return fail("watcher's initial values: %d, want 200", initial)
	}

	r.at("a watcher sees 500 quick updates in order")
	fw, err := many.Watch("fast")
	if err != nil {
		return err
	}
	if e := <-fw.Updates(); e != nil {
		_ = fw.Stop()
		return fail("Watch(fast) before any put gave %q", e.Key())
	}
	// The end-of-initial marker can come before the watcher's consumer is in place (no key
	// yet): a first value seen through the watcher shows it is.
	if _, err := many.PutString("fast", "start"); err != nil {
		_ = fw.Stop()
		return err
	}
	if err := expectUpdate(fw, "fast", "start", nats.KeyValuePut); err != nil {
		_ = fw.Stop()
		return err
	}
	for i := 0; i < 500; i++ {
		if _, err := js.PublishAsync("$KV.CONF_MANY.fast", []byte(fmt.Sprint(i))); err != nil {
			_ = fw.Stop()
			return err
		}
	}
	// With history 3 the stream keeps only the last 3 values of a key, so a watcher that falls
	// behind skips values; what it must do is go forward and end on the last one.
	var lastRev uint64
	lastVal, updates := -1, 0
	for lastVal != 499 {
		select {
		case e := <-fw.Updates():
			v := -1
			if e != nil {
				fmt.Sscan(string(e.Value()), &v)
			}
			if e == nil || e.Revision() <= lastRev || v <= lastVal {
				_ = fw.Stop()
				return fail("update after value %d (revision %d): %v", lastVal, lastRev, e)
			}
			lastRev, lastVal = e.Revision(), v
			updates++
		case <-time.After(wait):
			_ = fw.Stop()
			return fail("watcher stopped at value %d of 499", lastVal)
		}
	}
	_ = fw.Stop()
	r.note("the watcher saw %d of 500 quick updates", updates)

	r.at("small bucket: empty Keys, max value size, TTL")
	_ = js.DeleteKeyValue("CONF_TTL")
	ttl, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "CONF_TTL", TTL: 500 * time.Millisecond, MaxValueSize: 8, Storage: nats.MemoryStorage})
	if err != nil {
		return err
	}
	defer js.DeleteKeyValue("CONF_TTL")
	if k, err := ttl.Keys(); !errors.Is(err, nats.ErrNoKeysFound) {
		return fail("Keys of an empty bucket: %v, %v", k, err)
	}
	_, err = ttl.Put("big", []byte("123456789"))
	if err := wantCode(r, "value over max_value_size", err, 10054); err != nil {
		return err
	}
	if _, err = ttl.Put("short", []byte("lived")); err != nil {
		return err
	}
	if e, err := ttl.Get("short"); err != nil || string(e.Value()) != "lived" {
		return fail("Get(short) = %v", err)
	}
	st, err := ttl.Status()
	if err != nil {
		return err
	}
	if st.TTL() != 500*time.Millisecond || st.BackingStore() != "JetStream" {
		return fail("TTL bucket status ttl %v", st.TTL())
	}
	r.at("TTL expires the key")
	return eventually("key expired", func() (bool, string, error) {
		_, err := ttl.Get("short")
		return errors.Is(err, nats.ErrKeyNotFound), fmt.Sprint(err), nil
	})
}

func expectUpdate(w nats.KeyWatcher, key, value string, op nats.KeyValueOp) error {
	select {
	case e := <-w.Updates():
		if e == nil {
			return fail("watch: got the end-of-initial marker, want %s", key)
		}
		if e.Key() != key || string(e.Value()) != value || e.Operation() != op {
			return fail("watch: got %s=%q (%v), want %s=%q (%v)", e.Key(), e.Value(), e.Operation(), key, value, op)
		}
		return nil
	case <-time.After(wait):
		return fail("watch: %s never arrived", key)
	}
}

// --- obj -------------------------------------------------------------------------------------

func checkObj(r *run) error {
	js := r.js
	const size = 5 * 1000 * 1000
	r.at("CreateObjectStore")
	_ = js.DeleteObjectStore("CONFOBJ")
	obs, err := js.CreateObjectStore(&nats.ObjectStoreConfig{Bucket: "CONFOBJ", Description: "jsconform"})
	if err != nil {
		return err
	}
	defer js.DeleteObjectStore("CONFOBJ")

	r.at("Watch")
	w, err := obs.Watch()
	if err != nil {
		return err
	}
	defer w.Stop()
	if info := <-w.Updates(); info != nil {
		return fail("Watch on an empty store gave %q before the end-of-initial marker", info.Name)
	}

	r.at("Put 5 MB")
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	info, err := obs.Put(&nats.ObjectMeta{Name: "blob.bin", Description: "random"}, bytes.NewReader(data))
	if err != nil {
		return err
	}
	wantDigest := "SHA-256=" + base64.URLEncoding.EncodeToString(sum[:])
	if info.Size != size || info.Digest != wantDigest || info.Chunks == 0 {
		return fail("Put info: size %d chunks %d digest %s (want %s)", info.Size, info.Chunks, info.Digest, wantDigest)
	}
	r.note("%d chunks", info.Chunks)

	r.at("Watch sees the put")
	select {
	case u := <-w.Updates():
		if u == nil || u.Name != "blob.bin" || u.Size != size {
			return fail("Watch update %+v", u)
		}
	case <-time.After(wait):
		return fail("Watch never saw the put")
	}

	r.at("Get")
	res, err := obs.Get("blob.bin")
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.Copy(h, res)
	res.Close()
	if err != nil {
		return fmt.Errorf("reading the object: %w", err)
	}
	if n != size || !bytes.Equal(h.Sum(nil), sum[:]) {
		return fail("Get read %d bytes, SHA-256 %x, want %d bytes %x", n, h.Sum(nil), size, sum)
	}

	r.at("Put over an existing name")
	again := make([]byte, 300*1000)
	if _, err := rand.Read(again); err != nil {
		return err
	}
	if _, err = obs.PutBytes("blob2.bin", data[:size/2]); err != nil {
		return err
	}
	if _, err = obs.PutBytes("blob2.bin", again); err != nil {
		return err
	}
	if got, err := obs.GetBytes("blob2.bin"); err != nil || !bytes.Equal(got, again) {
		return fail("GetBytes after overwriting: %d bytes, %v", len(got), err)
	}
	st0, err := obs.Status()
	if err != nil {
		return err
	}
	// The first version's chunks are purged: 5 MB + 300 kB and the meta, not 7.8 MB.
	if st0.Size() > size+size/4 {
		return fail("after overwriting, the store holds %d bytes (old chunks kept)", st0.Size())
	}
	if err = obs.Delete("blob2.bin"); err != nil {
		return err
	}
	r.at("ObjectStoreNames")
	found := false
	for n := range js.ObjectStoreNames() {
		found = found || n == "CONFOBJ" || n == "OBJ_CONFOBJ"
	}
	if !found {
		return fail("ObjectStoreNames does not list CONFOBJ")
	}

	r.at("2,000 small chunks")
	small := data[:1000*1000]
	si0, err := obs.Put(&nats.ObjectMeta{Name: "chunky.bin", Opts: &nats.ObjectMetaOptions{ChunkSize: 500}}, bytes.NewReader(small))
	if err != nil {
		return err
	}
	if si0.Chunks != 2000 {
		return fail("1 MB in 500-byte chunks made %d chunks", si0.Chunks)
	}
	if got, err := obs.GetBytes("chunky.bin"); err != nil || !bytes.Equal(got, small) {
		return fail("GetBytes of the 2,000-chunk object: %d bytes, %v", len(got), err)
	}
	if err = obs.Delete("chunky.bin"); err != nil {
		return err
	}

	r.at("small object")
	if _, err = obs.PutString("small.txt", "hello"); err != nil {
		return err
	}
	s, err := obs.GetString("small.txt")
	if err != nil || s != "hello" {
		return fail("GetString(small.txt) = %q, %v", s, err)
	}

	r.at("List")
	list, err := obs.List()
	if err != nil {
		return err
	}
	var names []string
	for _, o := range list {
		names = append(names, o.Name)
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "blob.bin,small.txt" {
		return fail("List = %v", names)
	}

	r.at("GetInfo")
	gi, err := obs.GetInfo("blob.bin")
	if err != nil {
		return err
	}
	if gi.Size != size || gi.Digest != wantDigest || gi.Description != "random" || gi.Bucket != "CONFOBJ" {
		return fail("GetInfo %+v", gi)
	}
	if _, err = obs.GetInfo("nope"); !errors.Is(err, nats.ErrObjectNotFound) {
		return fail("GetInfo(nope): %v", err)
	}

	r.at("Status")
	st, err := obs.Status()
	if err != nil {
		return err
	}
	if st.Bucket() != "CONFOBJ" || st.Description() != "jsconform" || st.Size() < size {
		return fail("Status: bucket %q description %q size %d", st.Bucket(), st.Description(), st.Size())
	}

	r.at("UpdateMeta")
	if err = obs.UpdateMeta("small.txt", &nats.ObjectMeta{Name: "renamed.txt", Description: "renamed"}); err != nil {
		return err
	}
	if s, err := obs.GetString("renamed.txt"); err != nil || s != "hello" {
		return fail("GetString(renamed.txt) = %q, %v", s, err)
	}
	if _, err = obs.GetInfo("small.txt"); !errors.Is(err, nats.ErrObjectNotFound) {
		return fail("GetInfo of the old name: %v", err)
	}
	r.at("AddLink")
	target, err := obs.GetInfo("renamed.txt")
	if err != nil {
		return err
	}
	if _, err = obs.AddLink("link.txt", target); err != nil {
		return err
	}
	if s, err := obs.GetString("link.txt"); err != nil || s != "hello" {
		return fail("GetString through a link = %q, %v", s, err)
	}
	// Drain the watcher of the puts since: UpdateMeta (the new name, the old one deleted),
	// the small put and the link.
	for drained := false; !drained; {
		select {
		case <-w.Updates():
		default:
			drained = true
		}
	}

	r.at("Delete")
	if err = obs.Delete("blob.bin"); err != nil {
		return err
	}
	r.at("Watch sees the delete")
	for seen := false; !seen; {
		select {
		case u := <-w.Updates():
			seen = u != nil && u.Name == "blob.bin" && u.Deleted
		case <-time.After(wait):
			return fail("Watch never saw the delete")
		}
	}
	_ = obs.Delete("link.txt")
	if _, err = obs.GetInfo("blob.bin"); !errors.Is(err, nats.ErrObjectNotFound) {
		return fail("GetInfo after Delete: %v", err)
	}
	if _, err = obs.Get("blob.bin"); !errors.Is(err, nats.ErrObjectNotFound) {
		return fail("Get after Delete: %v", err)
	}
	list, err = obs.List()
	if err != nil {
		return err
	}
	if len(list) != 1 || list[0].Name != "renamed.txt" {
		return fail("List after Delete has %d entries", len(list))
	}
	r.at("Status after Delete")
	st, err = obs.Status()
	if err != nil {
		return err
	}
	if st.Size() >= size {
		return fail("the deleted object's chunks are still stored: size %d", st.Size())
	}
	r.at("Seal")
	if err = obs.Seal(); err != nil {
		return err
	}
	st, err = obs.Status()
	if err != nil {
		return err
	}
	if !st.Sealed() {
		return fail("Status after Seal is not sealed")
	}
	if _, err = obs.PutString("late.txt", "no"); err == nil {
		return fail("Put into a sealed store succeeded")
	}
	r.note("put after seal: %v", err)
	if s, err := obs.GetString("renamed.txt"); err != nil || s != "hello" {
		return fail("GetString from a sealed store = %q, %v", s, err)
	}
	return nil
}

// --- work queue ------------------------------------------------------------------------------

func checkWorkQueue(r *run) error {
	js := r.js
	const n = 50
	r.at("AddStream WorkQueuePolicy")
	si, err := addStream(r, &nats.StreamConfig{Name: "CONF_WQ", Subjects: []string{"conf.wq.>"}, Retention: nats.WorkQueuePolicy})
	if err != nil {
		return err
	}
	defer js.DeleteStream("CONF_WQ")
	if si.Config.Retention != nats.WorkQueuePolicy {
		return fail("retention %v", si.Config.Retention)
	}
	r.at("first consumer")
	if _, err = js.AddConsumer("CONF_WQ", &nats.ConsumerConfig{Durable: "W1", FilterSubject: "conf.wq.>", AckPolicy: nats.AckExplicitPolicy}); err != nil {
		return err
	}
	r.at("overlapping second consumer")
	_, err = js.AddConsumer("CONF_WQ", &nats.ConsumerConfig{Durable: "W2", FilterSubject: "conf.wq.a", AckPolicy: nats.AckExplicitPolicy})
	if err == nil {
		return fail("an overlapping consumer on a work-queue stream was accepted")
	}
	if apiCode(err) != 10100 {
		return fail("overlapping consumer refused with %v (err_code %d), want err_code 10100", err, apiCode(err))
	}
	r.note("refused: %v", err)
	r.at("unfiltered second consumer")
	_, err = js.AddConsumer("CONF_WQ", &nats.ConsumerConfig{Durable: "W3", AckPolicy: nats.AckExplicitPolicy})
	if err == nil {
		return fail("an unfiltered second consumer on a work-queue stream was accepted")
	}
	if c := apiCode(err); c != 10099 && c != 10100 {
		return fail("unfiltered second consumer refused with %v (err_code %d)", err, c)
	}
	r.note("unfiltered refused: %v", err)

	r.at("publish")
	if err := publishN(r, "conf.wq.a", n, 16); err != nil {
		return err
	}
	r.at("PullSubscribe")
	sub, err := js.PullSubscribe("conf.wq.>", "W1", nats.Bind("CONF_WQ", "W1"))
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	got := 0
	for got < n {
		msgs, err := sub.Fetch(n-got, nats.MaxWait(wait))
		if err != nil {
			return fmt.Errorf("fetch after %d: %w", got, err)
		}
		for _, m := range msgs {
			if err := m.AckSync(); err != nil {
				return err
			}
			got++
		}
	}
	r.at("stream empties after acks")
	if err := eventually("work-queue stream empty", func() (bool, string, error) {
		si, err := js.StreamInfo("CONF_WQ")
		if err != nil {
			return false, "", err
		}
		return si.State.Msgs == 0 && si.State.FirstSeq == n+1, fmt.Sprintf("%+v", si.State), nil
	}); err != nil {
		return err
	}
	return checkInterest(r)
}

// checkInterest: an interest-retention stream keeps a message until every consumer acked it.
func checkInterest(r *run) error {
	js := r.js
	r.at("AddStream InterestPolicy")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_INT", Subjects: []string{"conf.int.>"}, Retention: nats.InterestPolicy}); err != nil {
		return err
	}
	defer js.DeleteStream("CONF_INT")
	r.at("publish with no consumers")
	if _, err := js.Publish("conf.int.a", []byte("dropped")); err != nil {
		return err
	}
	si, err := js.StreamInfo("CONF_INT")
	if err != nil {
		return err
	}
	if si.State.Msgs != 0 {
		return fail("an interest stream with no consumers kept %d messages", si.State.Msgs)
	}
	for _, d := range []string{"I1", "I2"} {
		if _, err := js.AddConsumer("CONF_INT", &nats.ConsumerConfig{Durable: d, AckPolicy: nats.AckExplicitPolicy}); err != nil {
			return err
		}
	}
	if err := publishN(r, "conf.int.a", 10, 8); err != nil {
		return err
	}
	drain := func(d string) error {
		sub, err := js.PullSubscribe("conf.int.>", d, nats.Bind("CONF_INT", d))
		if err != nil {
			return err
		}
		defer sub.Unsubscribe()
		msgs, err := sub.Fetch(10, nats.MaxWait(wait))
		if err != nil {
			return err
		}
		if len(msgs) != 10 {
			return fail("%s fetched %d of 10", d, len(msgs))
		}
		for _, m := range msgs {
			if err := m.AckSync(); err != nil {
				return err
			}
		}
		return nil
	}
	r.at("one of two consumers acks")
	if err := drain("I1"); err != nil {
		return err
	}
	si, err = js.StreamInfo("CONF_INT")
	if err != nil {
		return err
	}
	if si.State.Msgs != 10 {
		return fail("after one of two consumers acked, %d messages left, want 10", si.State.Msgs)
	}
	r.at("both consumers ack")
	if err := drain("I2"); err != nil {
		return err
	}
	return eventually("interest stream empty", func() (bool, string, error) {
		si, err := js.StreamInfo("CONF_INT")
		if err != nil {
			return false, "", err
		}
		return si.State.Msgs == 0, fmt.Sprintf("%+v", si.State), nil
	})
}

// --- listing ---------------------------------------------------------------------------------

// checkListing: more streams and consumers than one page of the list APIs holds (256 infos,
// 1,024 names in nats-server), so nats.go's listers have to follow offset and total.
func checkListing(r *run) error {
	js := r.js
	const n = 300
	r.at("create 300 streams")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("CONF_L%03d", i)
		if _, err := addStream(r, &nats.StreamConfig{Name: name, Subjects: []string{fmt.Sprintf("conf.l.%03d", i)}, Storage: nats.MemoryStorage}); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	defer func() {
		for i := 0; i < n; i++ {
			_ = js.DeleteStream(fmt.Sprintf("CONF_L%03d", i))
		}
	}()
	r.at("StreamNames")
	names := map[string]bool{}
	for name := range js.StreamNames() {
		if strings.HasPrefix(name, "CONF_L") {
			names[name] = true
		}
	}
	if len(names) != n {
		return fail("StreamNames listed %d of %d", len(names), n)
	}
	r.at("Streams")
	infos := map[string]bool{}
	for info := range js.Streams() {
		if strings.HasPrefix(info.Config.Name, "CONF_L") {
			if infos[info.Config.Name] {
				return fail("Streams listed %s twice", info.Config.Name)
			}
			infos[info.Config.Name] = true
		}
	}
	if len(infos) != n {
		return fail("Streams listed %d of %d", len(infos), n)
	}
	r.at("StreamNames with a subject filter")
	one := 0
	for name := range js.StreamNames(nats.StreamListFilter("conf.l.042")) {
		if name != "CONF_L042" {
			return fail("StreamNames filtered by conf.l.042 gave %s", name)
		}
		one++
	}
	if one != 1 {
		return fail("StreamNames filtered by conf.l.042 gave %d names", one)
	}

	r.at("create 300 consumers")
	for i := 0; i < n; i++ {
		if _, err := js.AddConsumer("CONF_L000", &nats.ConsumerConfig{Durable: fmt.Sprintf("C%03d", i), AckPolicy: nats.AckExplicitPolicy}); err != nil {
			return err
		}
	}
	r.at("ConsumerNames")
	cn := map[string]bool{}
	for name := range js.ConsumerNames("CONF_L000") {
		cn[name] = true
	}
	if len(cn) != n {
		return fail("ConsumerNames listed %d of %d", len(cn), n)
	}
	r.at("Consumers")
	ci := map[string]bool{}
	for info := range js.Consumers("CONF_L000") {
		if ci[info.Name] {
			return fail("Consumers listed %s twice", info.Name)
		}
		ci[info.Name] = true
	}
	if len(ci) != n {
		return fail("Consumers listed %d of %d", len(ci), n)
	}
	return nil
}

// --- restart ---------------------------------------------------------------------------------

func checkRestart1(r *run) error {
	js := r.js
	r.at("file stream and a durable half consumed")
	if _, err := addStream(r, &nats.StreamConfig{Name: "CONF_KEEP", Subjects: []string{"conf.keep.>"}, Storage: nats.FileStorage, Duplicates: time.Hour}); err != nil {
		return err
	}
	for i := 0; i < 100; i++ {
		if _, err := js.Publish("conf.keep.a", []byte(fmt.Sprint(i)), nats.MsgId(fmt.Sprintf("keep-%d", i))); err != nil {
			return err
		}
	}
	if _, err := js.AddConsumer("CONF_KEEP", &nats.ConsumerConfig{Durable: "KEEP", AckPolicy: nats.AckExplicitPolicy}); err != nil {
		return err
	}
	sub, err := js.PullSubscribe("conf.keep.>", "KEEP", nats.Bind("CONF_KEEP", "KEEP"))
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	msgs, err := sub.Fetch(50, nats.MaxWait(wait))
	if err != nil || len(msgs) != 50 {
		return fail("Fetch(50) gave %d, %v", len(msgs), err)
	}
	for _, m := range msgs {
		if err := m.AckSync(); err != nil {
			return err
		}
	}
	r.at("KV and object store")
	_ = js.DeleteKeyValue("CONF_KEEPKV")
	kv, err := js.CreateKeyValue(&nats.KeyValueConfig{Bucket: "CONF_KEEPKV", History: 3})
	if err != nil {
		return err
	}
	for _, v := range []string{"one", "two"} {
		if _, err := kv.PutString("k", v); err != nil {
			return err
		}
	}
	_ = js.DeleteObjectStore("CONF_KEEPOBJ")
	obs, err := js.CreateObjectStore(&nats.ObjectStoreConfig{Bucket: "CONF_KEEPOBJ"})
	if err != nil {
		return err
	}
	if _, err := obs.PutBytes("blob", bytes.Repeat([]byte("gnat"), 100000)); err != nil {
		return err
	}
	return nil
}

func checkRestart2(r *run) error {
	js := r.js
	defer js.DeleteStream("CONF_KEEP")
	defer js.DeleteKeyValue("CONF_KEEPKV")
	defer js.DeleteObjectStore("CONF_KEEPOBJ")
	r.at("stream back")
	si, err := js.StreamInfo("CONF_KEEP")
	if err != nil {
		return err
	}
	if si.State.Msgs != 100 || si.State.FirstSeq != 1 || si.State.LastSeq != 100 {
		return fail("stream after restart: %+v", si.State)
	}
	r.at("msg id dedupe survives")
	ack, err := js.Publish("conf.keep.a", []byte("again"), nats.MsgId("keep-7"))
	if err != nil {
		return err
	}
	if !ack.Duplicate || ack.Sequence != 8 {
		return fail("re-publishing msg id keep-7 after restart: %+v", ack)
	}
	r.at("durable resumes")
	ci, err := js.ConsumerInfo("CONF_KEEP", "KEEP")
	if err != nil {
		return err
	}
	if ci.NumAckPending != 0 || ci.NumPending != 50 || ci.AckFloor.Stream != 50 || ci.Delivered.Stream != 50 {
		return fail("durable after restart: ack_pending %d pending %d ack_floor %+v delivered %+v", ci.NumAckPending, ci.NumPending, ci.AckFloor, ci.Delivered)
	}
	sub, err := js.PullSubscribe("conf.keep.>", "KEEP", nats.Bind("CONF_KEEP", "KEEP"))
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	msgs, err := sub.Fetch(100, nats.MaxWait(wait))
	if err != nil {
		return err
	}
	if len(msgs) != 50 {
		return fail("after restart Fetch(100) gave %d, want the 50 left", len(msgs))
	}
	if md, _ := msgs[0].Metadata(); md.Sequence.Stream != 51 || md.Sequence.Consumer != 51 || md.NumDelivered != 1 {
		return fail("first message after restart: %+v", md.Sequence)
	}
	r.at("KV back")
	kv, err := js.KeyValue("CONF_KEEPKV")
	if err != nil {
		return err
	}
	e, err := kv.Get("k")
	if err != nil || string(e.Value()) != "two" || e.Revision() != 2 {
		return fail("KV after restart: %v %v", e, err)
	}
	r.at("object back")
	obs, err := js.ObjectStore("CONF_KEEPOBJ")
	if err != nil {
		return err
	}
	b, err := obs.GetBytes("blob")
	if err != nil || !bytes.Equal(b, bytes.Repeat([]byte("gnat"), 100000)) {
		return fail("object after restart: %d bytes, %v", len(b), err)
	}
	return nil
}
