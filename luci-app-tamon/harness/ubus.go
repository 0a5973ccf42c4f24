package harness

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
)

// ubus status codes, as rpcd returns them in result[0].
const (
	ubusOK             = 0
	ubusInvalidCommand = 1
	ubusInvalidArg     = 2
	ubusMethodNotFound = 3
	ubusNotFound       = 4
	ubusNoData         = 5
	ubusPermission     = 6
)

type rpcRequest struct {
	JSONRPC string            `json:"jsonrpc"`
	ID      json.RawMessage   `json:"id"`
	Method  string            `json:"method"`
	Params  []json.RawMessage `json:"params"`
}

type rpcError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type rpcResponse struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  any             `json:"result,omitempty"`
	Error   *rpcError       `json:"error,omitempty"`
}

// serveUbus answers JSON-RPC 2.0 "call" and "list" requests, single or
// batched, as uhttpd's ubus endpoint does.
func (s *Server) serveUbus(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	var batch []rpcRequest
	if err := json.Unmarshal(body, &batch); err == nil {
		out := make([]rpcResponse, 0, len(batch))
		for i := range batch {
			out = append(out, s.rpc(&batch[i]))
		}
		json.NewEncoder(w).Encode(out)
		return
	}
	var req rpcRequest
	if err := json.Unmarshal(body, &req); err != nil {
		json.NewEncoder(w).Encode(rpcResponse{JSONRPC: "2.0", ID: json.RawMessage("null"), Error: &rpcError{-32700, "Parse error"}})
		return
	}
	json.NewEncoder(w).Encode(s.rpc(&req))
}

func (s *Server) rpc(req *rpcRequest) rpcResponse {
	res := rpcResponse{JSONRPC: "2.0", ID: req.ID}
	if len(res.ID) == 0 {
		res.ID = json.RawMessage("null")
	}
	if req.JSONRPC != "2.0" {
		res.Error = &rpcError{-32600, "Invalid request"}
		return res
	}
	switch req.Method {
	case "call":
	case "list":
		res.Result = map[string]any{}
		return res
	default:
		res.Error = &rpcError{-32601, "Method not found"}
		return res
	}
	if len(req.Params) != 4 {
		res.Error = &rpcError{-32602, "Invalid parameters"}
		return res
	}
	var sid, object, method string
	var args map[string]any
	if json.Unmarshal(req.Params[0], &sid) != nil || json.Unmarshal(req.Params[1], &object) != nil ||
		json.Unmarshal(req.Params[2], &method) != nil || json.Unmarshal(req.Params[3], &args) != nil {
		res.Error = &rpcError{-32602, "Invalid parameters"}
		return res
	}
	if args == nil {
		args = map[string]any{}
	}
	if object == "session" && method == "login" {
		res.Result = s.login(args)
		return res
	}
	ss := s.session(sid)
	if ss == nil {
		res.Error = &rpcError{-32002, "Access denied"}
		return res
	}
	status, data, denied := s.call(ss, object, method, args)
	if denied {
		res.Error = &rpcError{-32002, "Access denied"}
		return res
	}
	if status != ubusOK || data == nil {
		res.Result = []any{status}
		return res
	}
	res.Result = []any{status, data}
	return res
}

func (s *Server) login(args map[string]any) []any {
	user, _ := args["username"].(string)
	pass, _ := args["password"].(string)
	if user != "root" || pass == "" {
		return []any{ubusPermission}
	}
	id := s.NewSession(true)
	return []any{ubusOK, map[string]any{"ubus_rpc_session": id, "timeout": 300, "expires": 300, "data": map[string]any{"username": user}}}
}

func str(args map[string]any, k string) string {
	v, _ := args[k].(string)
	return v
}

// call runs one ubus method for ss; denied reports an ACL refusal.
func (s *Server) call(ss *session, object, method string, args map[string]any) (status int, data any, denied bool) {
	switch object {
	case "session":
		if method != "access" {
			return ubusMethodNotFound, nil, false
		}
		scope := str(args, "scope")
		if scope == "" {
			scope = "ubus"
		}
		obj, fn := str(args, "object"), str(args, "function")
		var ok bool
		switch scope {
		case "access-group":
			ok = ss.levels[obj][fn]
		case "ubus":
			ok = s.canUbus(ss, obj, fn)
		case "uci":
			ok = s.canUCI(ss, obj, fn)
		}
		return ubusOK, map[string]any{"access": ok}, false
	case "uci":
		return s.callUCI(ss, method, args)
	case "luci":
		if method == "getFeatures" {
			return ubusOK, map[string]any{}, false
		}
		return ubusMethodNotFound, nil, false
	}
	if !s.canUbus(ss, object, method) {
		return 0, nil, true
	}
	switch object + "." + method {
	case "luci.tamon.info":
		if s.opt.Info == nil {
			return ubusOK, Info{Port: 8321, Mode: "auto", Enabled: true}, false
		}
		return ubusOK, s.opt.Info(), false
	case "network.device.status":
		out := map[string]any{}
		for i, d := range s.opt.NetDevices {
			typ := "Network device"
			if d == "br-lan" {
				typ = "bridge"
			}
			out[d] = map[string]any{"type": typ, "up": true, "present": true, "mtu": 1500, "macaddr": fmt.Sprintf("02:00:5e:00:53:%02x", i+1)}
		}
		return ubusOK, out, false
	}
	return ubusNotFound, nil, false
}

// uciValues converts a JSON "values" object to options: a string is an
// option, an array of strings a list.
func uciValues(v any) ([]Option, error) {
	m, ok := v.(map[string]any)
	if v == nil {
		return nil, nil
	}
	if !ok {
		return nil, errors.New("values is not an object")
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Option
	for _, k := range keys {
		switch x := m[k].(type) {
		case string:
			out = append(out, Option{Name: k, Values: []string{x}})
		case float64, bool:
			out = append(out, Option{Name: k, Values: []string{fmt.Sprint(x)}})
		case []any:
			o := Option{Name: k, List: true}
			for _, it := range x {
				s, ok := it.(string)
				if !ok {
					s = fmt.Sprint(it)
				}
				o.Values = append(o.Values, s)
			}
			out = append(out, o)
		default:
			return nil, fmt.Errorf("value of %s is not a string or list", k)
		}
	}
	return out, nil
}

func sectionJSON(sec *Section, index int) map[string]any {
	m := map[string]any{".anonymous": sec.Anonymous, ".type": sec.Type, ".name": sec.Name, ".index": index}
	for _, o := range sec.Options {
		if o.List {
			m[o.Name] = o.Values
		} else if len(o.Values) > 0 {
			m[o.Name] = o.Values[0]
		}
	}
	return m
}

func (s *Server) callUCI(ss *session, method string, args map[string]any) (int, any, bool) {
	config := str(args, "config")
	need := "write"
	switch method {
	case "get", "changes", "state":
		need = "read"
	case "apply", "confirm", "rollback", "configs":
		need = ""
	}
	if need != "" && config != "" && !s.canUCI(ss, config, need) {
		return 0, nil, true
	}
	uerr := func(err error) int {
		switch {
		case errors.Is(err, ErrNoConfig), errors.Is(err, ErrNoSection):
			return ubusNotFound
		default:
			return ubusInvalidArg
		}
	}
	switch method {
	case "configs":
		return ubusOK, map[string]any{"configs": []string{"tamon"}}, false
	case "get", "state":
		p, err := s.UCI.View(ss.id, config)
		if err != nil {
			return uerr(err), nil, false
		}
		secName, opt, typ := str(args, "section"), str(args, "option"), str(args, "type")
		if secName != "" {
			for i, sec := range p.Sections {
				if sec.Name != secName {
					continue
				}
				if opt == "" {
					return ubusOK, map[string]any{"values": sectionJSON(sec, i)}, false
				}
				o, ok := sec.Get(opt)
				if !ok {
					return ubusNotFound, nil, false
				}
				if o.List {
					return ubusOK, map[string]any{"value": o.Values}, false
				}
				return ubusOK, map[string]any{"value": o.Values[0]}, false
			}
			return ubusNotFound, nil, false
		}
		vals := map[string]any{}
		for i, sec := range p.Sections {
			if typ == "" || sec.Type == typ {
				vals[sec.Name] = sectionJSON(sec, i)
			}
		}
		return ubusOK, map[string]any{"values": vals}, false
	case "set":
		vals, err := uciValues(args["values"])
		if err != nil || str(args, "section") == "" {
			return ubusInvalidArg, nil, false
		}
		if err := s.UCI.Set(ss.id, config, str(args, "section"), vals); err != nil {
			return uerr(err), nil, false
		}
		return ubusOK, nil, false
	case "add":
		vals, err := uciValues(args["values"])
		if err != nil {
			return ubusInvalidArg, nil, false
		}
		name, err := s.UCI.Add(ss.id, config, str(args, "type"), str(args, "name"), vals)
		if err != nil {
			return uerr(err), nil, false
		}
		return ubusOK, map[string]any{"section": name}, false
	case "delete":
		var opts []string
		if o := str(args, "option"); o != "" {
			opts = []string{o}
		}
		if l, ok := args["options"].([]any); ok {
			for _, x := range l {
				if s, ok := x.(string); ok {
					opts = append(opts, s)
				}
			}
			if opts == nil {
				opts = []string{}
			}
		}
		if err := s.UCI.Delete(ss.id, config, str(args, "section"), opts); err != nil {
			return uerr(err), nil, false
		}
		return ubusOK, nil, false
	case "changes":
		out := map[string]any{}
		for c, n := range s.UCI.Changes(ss.id) {
			if config == "" || c == config {
				out[c] = make([][]string, n)
			}
		}
		return ubusOK, map[string]any{"changes": out}, false
	case "revert":
		s.UCI.Revert(ss.id, config)
		return ubusOK, nil, false
	case "commit":
		ok, err := s.UCI.Commit(ss.id, config)
		if err != nil {
			return uerr(err), nil, false
		}
		if ok {
			s.afterCommit([]string{config})
		}
		return ubusOK, nil, false
	case "apply":
		if _, err := s.commit(ss); err != nil {
			return ubusPermission, nil, false
		}
		return ubusOK, nil, false
	case "confirm", "rollback":
		return ubusOK, nil, false
	}
	return ubusMethodNotFound, nil, false
}
