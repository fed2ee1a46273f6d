// Command loadgen is gnat's second load generator, written in Go on nats.go (the client most
// NATS users run), so that the server is driven the way real Go clients drive it: a producer
// publishing as fast as nats.go lets it, subscribers reading through nats.go's own machinery.
//
// One process run is one scenario against one server on 127.0.0.1, printing one JSON line.
// Every message carries its sequence number (big-endian uint64 in the first 8 bytes of the
// payload, padded to -size); every subscriber checks that it got every message exactly once and
// in order, and a queue group's members together exactly once. Loss is reported, never hidden:
// subscribers have unlimited pending limits (no client-side drops), reconnects are off (a
// connection the server closed stays closed and its loss shows), and nats.go's own Dropped()
// count, async errors and disconnects are reported alongside.
//
// Every run is bounded: by -msgs, by -timeout, and by -stall (no delivery progress after the
// publisher has flushed; much shorter once a subscriber connection has died).
//
// Build (GOPATH mode, Debian's nats.go; no network):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode GOFLAGS= GOPROXY=off GOCACHE=/tmp/gocache \
//	  go build -o /tmp/loadgen ./go/loadgen
//
// Run:
//
//	loadgen -port 4222 -mode pubsub -msgs 1000000 -size 16 -subs 8
//	loadgen -port 4222 -mode pubsub -subs 4 -queue workers
//	loadgen -port 4222 -mode pubsub -subs 2 -subjects 100 -wildcard
//	loadgen -port 4222 -mode pubsub -subs 1 -subjects 10000
//	loadgen -port 4222 -mode pub -msgs 1000000
//	loadgen -port 4222 -mode req -msgs 10000
//	loadgen -port 4222 -mode jspub -msgs 100000 -size 128 -storage file -async 4000
//	loadgen -port 4222 -mode jspub -msgs 20000 -size 128 -storage memory -async 0   # each publish waits for its ack
package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
)

// Result is the one JSON line a run prints.
type Result struct {
	Scenario string `json:"scenario"`
	Mode     string `json:"mode"`
	Port     int    `json:"port"`
	Msgs     int    `json:"msgs"`
	Size     int    `json:"size"`
	Subs     int    `json:"subs"`
	Subjects int    `json:"subjects"`
	Queue    string `json:"queue,omitempty"`
	Wildcard bool   `json:"wildcard,omitempty"`

	Published        int64   `json:"published"`
	PublishErrors    int64   `json:"publishErrors"`
	PubSeconds       float64 `json:"pubSeconds"`       // first publish → Flush() returned
	ElapsedSeconds   float64 `json:"elapsedSeconds"`   // first publish → last delivery (pub mode: → Flush())
	MsgsPerSec       float64 `json:"msgsPerSec"`       // published / elapsed
	PubMsgsPerSec    float64 `json:"pubMsgsPerSec"`    // published / pubSeconds
	DeliveriesPerSec float64 `json:"deliveriesPerSec"` // distinct deliveries / elapsed

	ExpectedDeliveries int64 `json:"expectedDeliveries"`
	Delivered          int64 `json:"delivered"` // distinct (group, seq) pairs
	Received           int64 `json:"received"`  // every message a handler saw
	Lost               int64 `json:"lost"`
	Duplicates         int64 `json:"duplicates"`
	OutOfOrder         int64 `json:"outOfOrder"`
	Corrupt            int64 `json:"corrupt"` // wrong size, or a sequence number never published

	ClientDropped     int64          `json:"clientDropped"` // nats.go Subscription.Dropped(), summed
	SlowConsumerErrs  int64          `json:"slowConsumerErrors"`
	AsyncErrors       map[string]int `json:"asyncErrors,omitempty"`
	Disconnects       int64          `json:"disconnects"`
	DisconnectReasons map[string]int `json:"disconnectReasons,omitempty"`
	DeadSubscribers   int            `json:"deadSubscribers"` // subscriber connections closed before the end
	TimedOut          bool           `json:"timedOut"`
	EndedBy           string         `json:"endedBy"` // complete | stall | timeout | published

	P50Us  float64  `json:"p50Us,omitempty"`
	P90Us  float64  `json:"p90Us,omitempty"`
	P99Us  float64  `json:"p99Us,omitempty"`
	MaxUs  float64  `json:"maxUs,omitempty"`
	Errors []string `json:"errors,omitempty"`

	// jspub: nats.go 1.22 names async reply inboxes with 6 random base-62 characters and keeps
	// futures in a map by that token, so two in flight can collide (≈3% of 400k-message runs at
	// 4,000 in flight): the later future takes the earlier one's ack and the earlier never
	// completes. Counted here, not as loss, when the stream itself holds exactly 1..n and each
	// unacked future's sequence is the one a later future got.
	ReplyCollisions int64 `json:"replyCollisions,omitempty"`

	ServerCPUTicks int64   `json:"serverCpuTicks,omitempty"` // utime+stime of -pid over the run
	MsgsPerCPUSec  float64 `json:"msgsPerCpuSec,omitempty"`
	OK             bool    `json:"ok"` // nothing lost, duplicated, reordered, corrupt or dropped
}

var (
	port      = flag.Int("port", 4222, "server port on 127.0.0.1 (the only address this tool connects to)")
	mode      = flag.String("mode", "pubsub", "pub | pubsub | req | jspub")
	scenario  = flag.String("scenario", "", "label echoed in the result")
	msgs      = flag.Int("msgs", 100000, "messages to publish (req: requests)")
	size      = flag.Int("size", 16, "payload bytes (at least 8: the sequence number)")
	subs      = flag.Int("subs", 1, "subscriber connections")
	queue     = flag.String("queue", "", "queue group name: subscribers form one group")
	subjects  = flag.Int("subjects", 1, "distinct subjects, published round-robin")
	wildcard  = flag.Bool("wildcard", false, "subscribers subscribe with one wildcard instead of each subject")
	timeout   = flag.Duration("timeout", 60*time.Second, "hard bound on the run (setup excluded)")
	stall     = flag.Duration("stall", 5*time.Second, "end when no delivery arrives this long after the publisher flushed")
	deadStall = flag.Duration("dead-stall", 500*time.Millisecond, "the same, once a subscriber connection has died")
	warmup    = flag.Int("warmup", 1000, "req: untimed warm-up requests")
	pid       = flag.Int("pid", 0, "server pid: report its CPU ticks (utime+stime) over the run")
	async     = flag.Int("async", 0, "jspub: publishes in flight (PublishAsync with PublishAsyncMaxPending); 0 = js.Publish, one at a time")
	storage   = flag.String("storage", "file", "jspub: the stream's storage, file | memory")
	stream    = flag.String("stream", "BENCH", "jspub: stream name (deleted and created afresh unless -keep)")
	keep      = flag.Bool("keep", false, "jspub: append to the stream if it exists (for filling a store)")
)

const clkTck = 100

func cpuTicks(p int) int64 {
	if p <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndex(s, ") ")
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return u + st
}

// events collects what the client library tells us asynchronously.
type events struct {
	mu          sync.Mutex
	async       map[string]int
	reasons     map[string]int
	disconnects int64
	slow        int64
	dead        map[*nats.Conn]bool
	deadCount   int32 // atomic mirror of len(dead) for the monitor
}

func newEvents() *events {
	return &events{async: map[string]int{}, reasons: map[string]int{}, dead: map[*nats.Conn]bool{}}
}

func (e *events) options(name string, subscriber bool) []nats.Option {
	return []nats.Option{
		nats.Name(name),
		nats.NoReconnect(),
		nats.ErrorHandler(func(nc *nats.Conn, s *nats.Subscription, err error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.async[err.Error()]++
			if err == nats.ErrSlowConsumer {
				e.slow++
			}
		}),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.disconnects++
			reason := "connection closed"
			if err != nil {
				reason = err.Error()
			} else if last := nc.LastError(); last != nil {
				reason = "connection closed: " + last.Error()
			}
			e.reasons[name+": "+reason]++
			if strings.Contains(strings.ToLower(reason), "slow consumer") {
				e.slow++
			}
			if subscriber && !e.dead[nc] {
				e.dead[nc] = true
				atomic.AddInt32(&e.deadCount, 1)
			}
		}),
	}
}

func connect(e *events, name string, subscriber bool) (*nats.Conn, error) {
	return nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", *port), e.options(name, subscriber)...)
}

// group is one exactly-once scope: a subscriber connection, or a whole queue group.
type group struct {
	bits     []uint64
	distinct int64
	dups     int64
	ooo      int64
}

func newGroup(n int) *group { return &group{bits: make([]uint64, (n+63)/64)} }

// mark sets seq's bit; false if it was already set (a duplicate).
func (g *group) mark(seq uint64) bool {
	w := &g.bits[seq>>6]
	m := uint64(1) << (seq & 63)
	for {
		old := atomic.LoadUint64(w)
		if old&m != 0 {
			return false
		}
		if atomic.CompareAndSwapUint64(w, old, old|m) {
			return true
		}
	}
}

func storeMax(p *int64, v int64) {
	for {
		old := atomic.LoadInt64(p)
		if v <= old || atomic.CompareAndSwapInt64(p, old, v) {
			return
		}
	}
}

func percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}

func subjectList() []string {
	n := *subjects
	if n < 1 {
		n = 1
	}
	out := make([]string, n)
	for i := range out {
		switch {
		case *wildcard:
			out[i] = fmt.Sprintf("bench.w.%d.x", 100+i)
		case n == 1:
			out[i] = "bench.one"
		default:
			out[i] = fmt.Sprintf("bench.n.%d", 10000+i)
		}
	}
	return out
}

func fail(r *Result, format string, a ...interface{}) {
	r.Errors = append(r.Errors, fmt.Sprintf(format, a...))
	emit(r)
	os.Exit(2)
}

func emit(r *Result) {
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func main() {
	flag.Parse()
	if *size < 8 {
		*size = 8
	}
	r := &Result{Scenario: *scenario, Mode: *mode, Port: *port, Msgs: *msgs, Size: *size, Subs: *subs,
		Subjects: *subjects, Queue: *queue, Wildcard: *wildcard}
	switch *mode {
	case "pub", "pubsub":
		pubSub(r)
	case "req":
		reqReply(r)
	case "jspub":
		jsPub(r)
	default:
		fail(r, "unknown -mode %q", *mode)
	}
	emit(r)
}

func pubSub(r *Result) {
	ev := newEvents()
	n := *msgs
	subjs := subjectList()
	nsubs := *subs
	if r.Mode == "pub" {
		nsubs = 0
	}
	r.Subs = nsubs

	// ---- subscribers ----
	var groups []*group
	var shared *group
	if *queue != "" {
		shared = newGroup(n)
		groups = append(groups, shared)
	}
	var received, lastNs int64
	start := time.Now() // re-set just before the first publish
	done := make(chan struct{})
	var doneOnce sync.Once
	var complete int32 // groups complete
	var corrupt int64
	nGroups := 0
	var subConns []*nats.Conn
	var allSubs []*nats.Subscription
	for c := 0; c < nsubs; c++ {
		nc, err := connect(ev, fmt.Sprintf("sub-%d", c), true)
		if err != nil {
			fail(r, "subscriber %d: %v", c, err)
		}
		subConns = append(subConns, nc)
		g := shared
		if g == nil {
			g = newGroup(n)
			groups = append(groups, g)
		}
		patterns := subjs
		if *wildcard {
			patterns = []string{"bench.w.*.x"}
		}
		for _, subj := range patterns {
			g := g
			last := int64(-1)
			handler := func(m *nats.Msg) {
				if len(m.Data) != *size {
					atomic.AddInt64(&corrupt, 1)
					return
				}
				seq := binary.BigEndian.Uint64(m.Data)
				if seq >= uint64(n) {
					atomic.AddInt64(&corrupt, 1)
					return
				}
				k := atomic.AddInt64(&received, 1)
				if k&255 == 1 {
					storeMax(&lastNs, int64(time.Since(start)))
				}
				if !g.mark(seq) {
					atomic.AddInt64(&g.dups, 1)
					return
				}
				if int64(seq) < last {
					atomic.AddInt64(&g.ooo, 1)
				} else {
					last = int64(seq)
				}
				if atomic.AddInt64(&g.distinct, 1) == int64(n) {
					storeMax(&lastNs, int64(time.Since(start)))
					if int(atomic.AddInt32(&complete, 1)) == nGroups {
						doneOnce.Do(func() { close(done) })
					}
				}
			}
			var sub *nats.Subscription
			if *queue != "" {
				sub, err = nc.QueueSubscribe(subj, *queue, handler)
			} else {
				sub, err = nc.Subscribe(subj, handler)
			}
			if err != nil {
				fail(r, "subscribe %s: %v", subj, err)
			}
			if err := sub.SetPendingLimits(-1, -1); err != nil {
				fail(r, "pending limits: %v", err)
			}
			allSubs = append(allSubs, sub)
		}
		if err := nc.FlushTimeout(30 * time.Second); err != nil {
			fail(r, "subscriber %d flush: %v", c, err)
		}
	}
	nGroups = len(groups)
	r.ExpectedDeliveries = int64(nGroups) * int64(n)

	// ---- publisher ----
	pc, err := connect(ev, "pub", false)
	if err != nil {
		fail(r, "publisher: %v", err)
	}
	if err := pc.FlushTimeout(10 * time.Second); err != nil {
		fail(r, "publisher flush: %v", err)
	}
	payload := make([]byte, *size)
	for i := 8; i < len(payload); i++ {
		payload[i] = 'x'
	}
	cpu0 := cpuTicks(*pid)
	start = time.Now()
	deadline := start.Add(*timeout)
	var pubDone int32
	var pubEnd time.Duration
	go func() {
		defer atomic.StoreInt32(&pubDone, 1)
		ns := len(subjs)
		for i := 0; i < n; i++ {
			binary.BigEndian.PutUint64(payload, uint64(i))
			if err := pc.Publish(subjs[i%ns], payload); err != nil {
				atomic.AddInt64(&r.PublishErrors, 1)
				ev.mu.Lock()
				ev.async["publish: "+err.Error()]++
				ev.mu.Unlock()
				break
			}
			atomic.AddInt64(&r.Published, 1)
			if i&4095 == 0 && time.Now().After(deadline) {
				break
			}
		}
		left := time.Until(deadline)
		if left < time.Second {
			left = time.Second
		}
		if err := pc.FlushTimeout(left); err != nil {
			ev.mu.Lock()
			ev.async["publisher flush: "+err.Error()]++
			ev.mu.Unlock()
		}
		pubEnd = time.Since(start)
	}()

	// ---- wait: complete, stalled, or timed out ----
	if nsubs == 0 {
		for atomic.LoadInt32(&pubDone) == 0 {
			time.Sleep(time.Millisecond)
		}
		r.EndedBy = "published"
	} else {
		tick := time.NewTicker(20 * time.Millisecond)
		lastSeen := int64(-1)
		lastChange := time.Now()
	wait:
		for {
			select {
			case <-done:
				r.EndedBy = "complete"
				break wait
			case now := <-tick.C:
				if now.After(deadline) {
					r.EndedBy = "timeout"
					r.TimedOut = true
					break wait
				}
				got := atomic.LoadInt64(&received)
				if got != lastSeen {
					lastSeen, lastChange = got, now
					continue
				}
				if atomic.LoadInt32(&pubDone) == 0 {
					continue
				}
				limit := *stall
				if atomic.LoadInt32(&ev.deadCount) > 0 || atomic.LoadInt64(&r.Published) == 0 {
					limit = *deadStall
				}
				if now.Sub(lastChange) > limit {
					r.EndedBy = "stall"
					break wait
				}
			}
		}
		tick.Stop()
	}
	cpu1 := cpuTicks(*pid)
	// Let the publisher goroutine finish its flush (bounded) so pubEnd is known.
	for i := 0; i < 200 && atomic.LoadInt32(&pubDone) == 0; i++ {
		time.Sleep(5 * time.Millisecond)
	}

	// ---- tally ----
	for _, g := range groups {
		r.Delivered += atomic.LoadInt64(&g.distinct)
		r.Duplicates += atomic.LoadInt64(&g.dups)
		r.OutOfOrder += atomic.LoadInt64(&g.ooo)
	}
	r.Received = atomic.LoadInt64(&received)
	r.Corrupt = atomic.LoadInt64(&corrupt)
	published := atomic.LoadInt64(&r.Published)
	r.Published = published
	if nsubs > 0 {
		// Expected: every group gets every message that was published (a publisher that stopped early is reported apart).
		r.ExpectedDeliveries = int64(nGroups) * published
		r.Lost = r.ExpectedDeliveries - r.Delivered
	}
	for _, s := range allSubs {
		if d, err := s.Dropped(); err == nil {
			r.ClientDropped += int64(d)
		}
	}
	if atomic.LoadInt32(&pubDone) == 1 {
		r.PubSeconds = pubEnd.Seconds()
	}
	// Elapsed: to the last delivery, or to the publisher's flush if that came later (as load.ts).
	elapsed := pubEnd
	if last := time.Duration(atomic.LoadInt64(&lastNs)); nsubs > 0 && last > elapsed {
		elapsed = last
	}
	if elapsed <= 0 {
		elapsed = time.Since(start)
	}
	r.ElapsedSeconds = elapsed.Seconds()
	r.MsgsPerSec = float64(published) / r.ElapsedSeconds
	if r.PubSeconds > 0 {
		r.PubMsgsPerSec = float64(published) / r.PubSeconds
	}
	r.DeliveriesPerSec = float64(r.Delivered) / r.ElapsedSeconds
	if *pid > 0 {
		r.ServerCPUTicks = cpu1 - cpu0
		work := published
		if r.Delivered > work {
			work = r.Delivered
		}
		t := r.ServerCPUTicks
		if t < 1 {
			t = 1
		}
		r.MsgsPerCPUSec = float64(work) / (float64(t) / clkTck)
	}

	// Connections are not closed: closing would fire the disconnect handlers, and a publisher
	// blocked on a server that stopped reading could hold Close() up. The process exits after
	// printing its result; the server sees the sockets go.
	_ = subConns
	ev.mu.Lock()
	r.AsyncErrors = ev.async
	r.DisconnectReasons = ev.reasons
	r.Disconnects = ev.disconnects
	r.SlowConsumerErrs = ev.slow
	r.DeadSubscribers = len(ev.dead)
	ev.mu.Unlock()
	if len(r.AsyncErrors) == 0 {
		r.AsyncErrors = nil
	}
	if len(r.DisconnectReasons) == 0 {
		r.DisconnectReasons = nil
	}
	r.OK = r.Lost == 0 && r.Duplicates == 0 && r.OutOfOrder == 0 && r.Corrupt == 0 && r.ClientDropped == 0 &&
		r.PublishErrors == 0 && r.SlowConsumerErrs == 0 && r.DeadSubscribers == 0 && !r.TimedOut && published == int64(n)
}

// reqReply: a responder echoing the payload and a requester sending one request at a time.
func reqReply(r *Result) {
	ev := newEvents()
	resp, err := connect(ev, "responder", true)
	if err != nil {
		fail(r, "responder: %v", err)
	}
	sub, err := resp.Subscribe("bench.svc", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		fail(r, "responder subscribe: %v", err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	if err := resp.FlushTimeout(10 * time.Second); err != nil {
		fail(r, "responder flush: %v", err)
	}
	req, err := connect(ev, "requester", false)
	if err != nil {
		fail(r, "requester: %v", err)
	}
	payload := make([]byte, *size)
	perReq := 2 * time.Second
	for i := 0; i < *warmup; i++ {
		binary.BigEndian.PutUint64(payload, uint64(1)<<62|uint64(i))
		if _, err := req.Request("bench.svc", payload, perReq); err != nil {
			fail(r, "warm-up request %d: %v", i, err)
		}
	}
	cpu0 := cpuTicks(*pid)
	lat := make([]float64, 0, *msgs)
	start := time.Now()
	deadline := start.Add(*timeout)
	r.EndedBy = "complete"
	for i := 0; i < *msgs; i++ {
		if time.Now().After(deadline) {
			r.EndedBy, r.TimedOut = "timeout", true
			break
		}
		binary.BigEndian.PutUint64(payload, uint64(i))
		t := time.Now()
		m, err := req.Request("bench.svc", payload, perReq)
		r.Published++
		if err != nil {
			r.Lost++
			ev.mu.Lock()
			ev.async["request: "+err.Error()]++
			ev.mu.Unlock()
			if !req.IsConnected() || !resp.IsConnected() {
				break
			}
			continue
		}
		lat = append(lat, float64(time.Since(t).Nanoseconds())/1000)
		if !bytes.Equal(m.Data, payload) {
			r.Corrupt++
		}
		r.Delivered++
		r.Received++
	}
	elapsed := time.Since(start)
	cpu1 := cpuTicks(*pid)
	sort.Float64s(lat)
	r.P50Us, r.P90Us, r.P99Us = percentile(lat, 0.5), percentile(lat, 0.9), percentile(lat, 0.99)
	if len(lat) > 0 {
		r.MaxUs = lat[len(lat)-1]
	}
	r.ExpectedDeliveries = r.Published
	r.ElapsedSeconds = elapsed.Seconds()
	r.PubSeconds = r.ElapsedSeconds
	r.MsgsPerSec = float64(r.Delivered) / r.ElapsedSeconds
	r.PubMsgsPerSec = r.MsgsPerSec
	if *pid > 0 {
		r.ServerCPUTicks = cpu1 - cpu0
		t := r.ServerCPUTicks
		if t < 1 {
			t = 1
		}
		r.MsgsPerCPUSec = float64(2*r.Delivered) / (float64(t) / clkTck)
	}
	ev.mu.Lock()
	if len(ev.async) > 0 {
		r.AsyncErrors = ev.async
	}
	if len(ev.reasons) > 0 {
		r.DisconnectReasons = ev.reasons
	}
	r.Disconnects = ev.disconnects
	r.SlowConsumerErrs = ev.slow
	ev.mu.Unlock()
	r.OK = r.Lost == 0 && r.Corrupt == 0 && !r.TimedOut && r.Published == int64(*msgs)
}

// jsPub: JetStream publishing with acks into a fresh stream on bench.js. Every ack is checked:
// no errors, the right stream, and sequences 1..n each exactly once (contiguous: nothing lost or
// duplicated). Synchronous (-async 0): js.Publish waits for each ack. Asynchronous: PublishAsync
// with -async acks outstanding at most; the clock stops when the last ack has arrived.
func jsPub(r *Result) {
	ev := newEvents()
	nc, err := connect(ev, "js-publisher", false)
	if err != nil {
		fail(r, "connect: %v", err)
	}
	jsOpts := []nats.JSOpt{}
	if *async > 0 {
		jsOpts = append(jsOpts, nats.PublishAsyncMaxPending(*async))
	}
	js, err := nc.JetStream(jsOpts...)
	if err != nil {
		fail(r, "jetstream: %v", err)
	}
	st := nats.FileStorage
	if *storage == "memory" {
		st = nats.MemoryStorage
	}
	base := uint64(0)
	if info, err := js.StreamInfo(*stream); err == nil {
		if *keep {
			base = info.State.LastSeq
		} else if err := js.DeleteStream(*stream); err != nil {
			fail(r, "delete stream: %v", err)
		}
	}
	if base == 0 {
		if _, err := js.AddStream(&nats.StreamConfig{Name: *stream, Subjects: []string{"bench.js"}, Storage: st}); err != nil {
			fail(r, "add stream: %v", err)
		}
	}
	n := *msgs
	seen := newGroup(n + 1)
	var bad int64
	var firstErr string
	check := func(i int, ack *nats.PubAck, err error) {
		if err != nil {
			r.PublishErrors++
			if firstErr == "" {
				firstErr = fmt.Sprintf("publish %d: %v", i, err)
			}
			return
		}
		if ack.Stream != *stream || ack.Sequence <= base || ack.Sequence > base+uint64(n) {
			bad++
			return
		}
		if !seen.mark(ack.Sequence - base) {
			r.Duplicates++
			return
		}
		if ack.Sequence != base+uint64(i)+1 {
			r.OutOfOrder++
		}
		r.Delivered++
	}
	payload := make([]byte, *size)
	cpu0 := cpuTicks(*pid)
	start := time.Now()
	deadline := start.Add(*timeout)
	r.EndedBy = "complete"
	if *async <= 0 {
		for i := 0; i < n; i++ {
			if time.Now().After(deadline) {
				r.EndedBy, r.TimedOut = "timeout", true
				break
			}
			binary.BigEndian.PutUint64(payload, uint64(i))
			ack, err := js.Publish("bench.js", payload)
			r.Published++
			check(i, ack, err)
		}
	} else {
		futures := make([]nats.PubAckFuture, 0, n)
		for i := 0; i < n; i++ {
			if time.Now().After(deadline) {
				r.EndedBy, r.TimedOut = "timeout", true
				break
			}
			binary.BigEndian.PutUint64(payload, uint64(i))
			f, err := js.PublishAsync("bench.js", payload, nats.StallWait(*timeout))
			if err != nil {
				check(i, nil, err)
				break
			}
			r.Published++
			futures = append(futures, f)
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Until(deadline)):
			r.EndedBy, r.TimedOut = "timeout", true
		}
		var unacked []int
		wrongSeq := map[uint64]bool{}
		for i, f := range futures {
			select {
			case ack := <-f.Ok():
				ooo := r.OutOfOrder
				check(i, ack, nil)
				if r.OutOfOrder > ooo {
					wrongSeq[ack.Sequence] = true
				}
			case err := <-f.Err():
				check(i, nil, err)
			default:
				unacked = append(unacked, i) // no ack by the deadline
			}
		}
		if len(unacked) > 0 && r.Duplicates == 0 && r.PublishErrors == 0 {
			if info, err := js.StreamInfo(*stream); err == nil && info.State.Msgs == base+uint64(n) && info.State.LastSeq == base+uint64(n) {
				for _, i := range unacked {
					if wrongSeq[base+uint64(i)+1] {
						r.ReplyCollisions++
						r.OutOfOrder--
						continue
					}
					r.Lost++
				}
				unacked = nil
			}
		}
		r.Lost += int64(len(unacked))
	}
	elapsed := time.Since(start)
	cpu1 := cpuTicks(*pid)
	if firstErr != "" {
		ev.mu.Lock()
		ev.async[firstErr]++
		ev.mu.Unlock()
	}
	r.Corrupt = bad
	r.ExpectedDeliveries = int64(n)
	r.Lost += int64(n) - r.Published
	r.Received = r.Delivered
	r.ElapsedSeconds = elapsed.Seconds()
	r.PubSeconds = r.ElapsedSeconds
	r.MsgsPerSec = float64(r.Delivered) / r.ElapsedSeconds
	r.PubMsgsPerSec = r.MsgsPerSec
	if *pid > 0 {
		r.ServerCPUTicks = cpu1 - cpu0
		t := r.ServerCPUTicks
		if t < 1 {
			t = 1
		}
		r.MsgsPerCPUSec = float64(r.Delivered) / (float64(t) / clkTck)
	}
	ev.mu.Lock()
	if len(ev.async) > 0 {
		r.AsyncErrors = ev.async
	}
	if len(ev.reasons) > 0 {
		r.DisconnectReasons = ev.reasons
	}
	r.Disconnects = ev.disconnects
	ev.mu.Unlock()
	r.OK = r.PublishErrors == 0 && r.Duplicates == 0 && r.OutOfOrder == 0 && r.Corrupt == 0 && r.Lost == 0 &&
		!r.TimedOut && r.Delivered+r.ReplyCollisions == int64(n)
}
