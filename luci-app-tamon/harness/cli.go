package harness

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// The router's command-line tools for the real daemon. tamond runs "ubus
// call session access" (is this LuCI session allowed?) and "uci" (the alias
// route writes /etc/config/tamon) as programs. On the bench those are one
// executable under two names (see RouterCLI) that sends its arguments to
// the Server's /harness/exec route, which answers them from the same
// sessions and the same UCI folder the pages use.

// Environment of the ubus and uci commands: the bench's URL and the key that
// opens /harness/exec.
const (
	EnvHarnessURL = "TAMON_HARNESS_URL"
	EnvHarnessKey = "TAMON_HARNESS_KEY"
)

// cliSession is the staging area of the uci command (libuci's /tmp/.uci),
// apart from every LuCI session's.
const cliSession = "uci-cli"

type execRequest struct {
	Argv []string `json:"argv"`
}

type execReply struct {
	Stdout string `json:"stdout"`
	Stderr string `json:"stderr"`
	Code   int    `json:"code"`
}

// RouterCLI runs the ubus or uci command when args[0] (the name the program
// was called by) is "ubus" or "uci": it sends the arguments to the bench
// named by $TAMON_HARNESS_URL and prints the answer. ok is false for any
// other name; then the program goes on as itself. A program that plays the
// commands calls it first thing in main (or TestMain).
func RouterCLI(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if len(args) == 0 {
		return 0, false
	}
	name := filepath.Base(args[0])
	if name != "ubus" && name != "uci" {
		return 0, false
	}
	base, key := os.Getenv(EnvHarnessURL), os.Getenv(EnvHarnessKey)
	if base == "" || key == "" {
		fmt.Fprintf(stderr, "%s: %s and %s must name the bench\n", name, EnvHarnessURL, EnvHarnessKey)
		return 1, true
	}
	body, _ := json.Marshal(execRequest{Argv: append([]string{name}, args[1:]...)})
	req, err := http.NewRequest(http.MethodPost, base+"/harness/exec", bytes.NewReader(body))
	if err != nil {
		fmt.Fprintf(stderr, "%s: bench URL %q: %v\n", name, base, err)
		return 1, true
	}
	req.Header.Set("X-Harness-Key", key)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "%s: reach the bench: %v\n", name, err)
		return 1, true
	}
	defer resp.Body.Close()
	var rep execReply
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "%s: bench answered %s: %v\n", name, resp.Status, err)
		return 1, true
	}
	io.WriteString(stdout, rep.Stdout)
	io.WriteString(stderr, rep.Stderr)
	return rep.Code, true
}

// serveExec answers /harness/exec: POST {"argv":[...]} with the key.
func (s *Server) serveExec(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("X-Harness-Key")
	if s.opt.ExecKey == "" || subtle.ConstantTimeCompare([]byte(key), []byte(s.opt.ExecKey)) != 1 {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	var req execRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || len(req.Argv) == 0 {
		http.Error(w, "want {\"argv\":[...]}", http.StatusBadRequest)
		return
	}
	var out, errb strings.Builder
	code := s.Exec(req.Argv, &out, &errb)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(execReply{Stdout: out.String(), Stderr: errb.String(), Code: code})
}

// Exec runs one router command line, "ubus ..." or "uci ...", as root on
// the router would, and returns its exit status.
func (s *Server) Exec(argv []string, stdout, stderr io.Writer) int {
	switch argv[0] {
	case "ubus":
		return s.execUbus(argv[1:], stdout, stderr)
	case "uci":
		return s.execUCI(argv[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "%s: not found\n", argv[0])
	return 127
}

// execUbus: "ubus call session access ARGS" answers for the LuCI session
// named in ARGS (exit 4, Not found, when there is none); other calls are
// objects this router lacks.
func (s *Server) execUbus(args []string, stdout, stderr io.Writer) int {
	if len(args) < 3 || args[0] != "call" {
		fmt.Fprintln(stderr, "Usage: ubus call <path> <method> [<message>]")
		return 1
	}
	object, method := args[1], args[2]
	msg := map[string]any{}
	if len(args) > 3 {
		if err := json.Unmarshal([]byte(args[3]), &msg); err != nil {
			fmt.Fprintln(stderr, "Failed to parse message data")
			return 1
		}
	}
	if object != "session" || method != "access" {
		fmt.Fprintln(stderr, "Command failed: Not found")
		return ubusNotFound
	}
	ss := s.session(str(msg, "ubus_rpc_session"))
	if ss == nil {
		fmt.Fprintln(stderr, "Command failed: Not found")
		return ubusNotFound
	}
	_, data, _ := s.call(ss, object, method, msg)
	b, _ := json.MarshalIndent(data, "", "\t")
	fmt.Fprintf(stdout, "%s\n", b)
	return 0
}

// execUCI implements the uci command's show, get, set, add, add_list,
// delete, commit and revert over the Server's UCI folder, with libuci's
// output and its @type[index] section references. Changes are staged
// until commit, apart from the LuCI sessions' changes.
func (s *Server) execUCI(args []string, stdout, stderr io.Writer) int {
	quiet := false
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-q":
			quiet = true
		case "-X", "-n":
		default:
			fmt.Fprintf(stderr, "uci: option %s is not supported here\n", args[0])
			return 1
		}
		args = args[1:]
	}
	fail := func(msg string) int {
		if !quiet {
			fmt.Fprintln(stderr, "uci: "+msg)
		}
		return 1
	}
	if len(args) == 0 {
		return fail("no command")
	}
	cmd, rest := args[0], args[1:]
	arg := ""
	if len(rest) > 0 {
		arg = rest[0]
	}
	switch cmd {
	case "show", "get":
		config, sec, opt, _, _ := splitUCIPath(arg)
		if config == "" {
			return fail("Invalid argument")
		}
		p, err := s.UCI.View(cliSession, config)
		if err != nil {
			return fail("Entry not found")
		}
		var secs []*Section
		if sec != "" {
			x, _ := resolveSection(p, sec)
			if x == nil {
				return fail("Entry not found")
			}
			secs = []*Section{x}
		} else {
			secs = p.Sections
		}
		if cmd == "get" {
			if len(secs) != 1 {
				return fail("Invalid argument")
			}
			if opt == "" {
				fmt.Fprintln(stdout, secs[0].Type)
				return 0
			}
			o, ok := secs[0].Get(opt)
			if !ok {
				return fail("Entry not found")
			}
			fmt.Fprintln(stdout, strings.Join(o.Values, " "))
			return 0
		}
		for _, x := range secs {
			ref := config + "." + showName(p, x)
			if opt == "" {
				fmt.Fprintf(stdout, "%s=%s\n", ref, x.Type)
			}
			for _, o := range x.Options {
				if opt != "" && o.Name != opt {
					continue
				}
				q := make([]string, len(o.Values))
				for i, v := range o.Values {
					q[i] = quote(v)
				}
				fmt.Fprintf(stdout, "%s.%s=%s\n", ref, o.Name, strings.Join(q, " "))
			}
		}
		return 0
	case "set", "add_list":
		config, sec, opt, val, hasVal := splitUCIPath(arg)
		if config == "" || sec == "" || !hasVal {
			return fail("Invalid argument")
		}
		p, err := s.UCI.View(cliSession, config)
		if err != nil {
			return fail("Entry not found")
		}
		x, byRef := resolveSection(p, sec)
		if opt == "" {
			if cmd == "add_list" || byRef {
				return fail("Invalid argument")
			}
			if _, err := s.UCI.Add(cliSession, config, val, sec, nil); err != nil {
				return fail(err.Error())
			}
			return 0
		}
		if x == nil {
			return fail("Entry not found")
		}
		o := Option{Name: opt, Values: []string{val}}
		if cmd == "add_list" {
			old, _ := x.Get(opt)
			o = Option{Name: opt, Values: append(append([]string(nil), old.Values...), val), List: true}
		}
		if err := s.UCI.Set(cliSession, config, x.Name, []Option{o}); err != nil {
			return fail(err.Error())
		}
		return 0
	case "add":
		if len(rest) != 2 {
			return fail("Invalid argument")
		}
		name, err := s.UCI.Add(cliSession, rest[0], rest[1], "", nil)
		if err != nil {
			return fail(err.Error())
		}
		fmt.Fprintln(stdout, name)
		return 0
	case "delete":
		config, sec, opt, _, _ := splitUCIPath(arg)
		if config == "" || sec == "" {
			return fail("Invalid argument")
		}
		p, err := s.UCI.View(cliSession, config)
		if err != nil {
			return fail("Entry not found")
		}
		x, _ := resolveSection(p, sec)
		if x == nil {
			return fail("Entry not found")
		}
		var opts []string
		if opt != "" {
			opts = []string{opt}
		}
		if err := s.UCI.Delete(cliSession, config, x.Name, opts); err != nil {
			return fail(err.Error())
		}
		return 0
	case "commit", "revert":
		configs := []string{arg}
		if arg == "" {
			configs = configs[:0]
			for c := range s.UCI.Changes(cliSession) {
				configs = append(configs, c)
			}
		}
		for _, c := range configs {
			c, _, _ = strings.Cut(c, ".")
			if cmd == "revert" {
				s.UCI.Revert(cliSession, c)
				continue
			}
			if _, err := s.UCI.Commit(cliSession, c); err != nil && !errors.Is(err, ErrNoConfig) {
				return fail(err.Error())
			}
		}
		return 0
	}
	return fail("command " + cmd + " is not supported here")
}

// splitUCIPath splits "config.section.option=value".
func splitUCIPath(s string) (config, section, option, value string, hasValue bool) {
	path, value, hasValue := strings.Cut(s, "=")
	parts := strings.SplitN(path, ".", 3)
	config = parts[0]
	if len(parts) > 1 {
		section = parts[1]
	}
	if len(parts) > 2 {
		option = parts[2]
	}
	return config, section, option, value, hasValue
}

// resolveSection finds a section by name or by libuci's @type[index]
// reference (a negative index counts from the end); byRef says which.
func resolveSection(p *Package, ref string) (sec *Section, byRef bool) {
	rest, ok := strings.CutPrefix(ref, "@")
	if !ok {
		return p.Section(ref), false
	}
	typ, idx, ok := strings.Cut(rest, "[")
	idx, ok2 := strings.CutSuffix(idx, "]")
	n, err := strconv.Atoi(idx)
	if !ok || !ok2 || err != nil {
		return nil, true
	}
	var of []*Section
	for _, x := range p.Sections {
		if x.Type == typ {
			of = append(of, x)
		}
	}
	if n < 0 {
		n += len(of)
	}
	if n < 0 || n >= len(of) {
		return nil, true
	}
	return of[n], true
}

// showName is how "uci show" names a section: its name, or @type[index]
// for an anonymous one.
func showName(p *Package, sec *Section) string {
	if !sec.Anonymous {
		return sec.Name
	}
	i := 0
	for _, x := range p.Sections {
		if x == sec {
			break
		}
		if x.Type == sec.Type {
			i++
		}
	}
	return fmt.Sprintf("@%s[%d]", sec.Type, i)
}
