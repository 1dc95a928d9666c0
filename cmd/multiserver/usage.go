package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"
)

// stacksCmd prints the usage of each stack a "serve --metrics HOST:PORT
// --admin" serves, read from its admin endpoint, or drains or drops one.
func stacksCmd(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlags("stacks")
	asJSON := fs.Bool("json", false, "print the endpoint's JSON as it is")
	drain := fs.String("drain", "", "stop advertising the stack at `ADDR`ess at once, serve it for --grace, then drop it")
	grace := fs.Duration("grace", time.Hour, "how long a drained stack is still served")
	drop := fs.String("drop", "", "stop serving the stack at `ADDR`ess now")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 || (*drain != "" && *drop != "") {
		return fmt.Errorf("%w: stacks needs the HOST:PORT of serve --metrics (with --admin), and at most one of --drain and --drop", errUsage)
	}
	base, err := adminURL(fs.Arg(0))
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 10 * time.Second}
	switch {
	case *drain != "":
		return post(ctx, client, base+"/stacks/drain", url.Values{"addr": {*drain}, "grace": {grace.String()}})
	case *drop != "":
		return post(ctx, client, base+"/stacks/drop", url.Values{"addr": {*drop}})
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/stacks", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("stacks: %s answered %s (is serve running with --admin?)", base, resp.Status)
	}
	if *asJSON {
		_, err := stdout.Write(body)
		return err
	}
	var st stacksJSON
	if err := json.Unmarshal(body, &st); err != nil {
		return fmt.Errorf("stacks: %s: %w", base, err)
	}
	printStacks(stdout, st)
	return nil
}

// adminURL returns the base URL of the admin endpoint at s, "HOST:PORT"
// or "http://HOST:PORT".
func adminURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return "", fmt.Errorf("%w: stacks: %q is not HOST:PORT or an http URL", errUsage, s)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}

func post(ctx context.Context, client *http.Client, target string, form url.Values) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return nil
	case http.StatusNotFound:
		return fmt.Errorf("stacks: %s answered %s (is serve running with --admin?)", target, resp.Status)
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return fmt.Errorf("stacks: %s", strings.TrimSpace(string(msg)))
}

// printStacks writes the usage table: a row per stack, named by its
// address as given to --listen, which --drain and --drop take as well
// (--json also has the addresses it is reached at, with keys).
func printStacks(w io.Writer, st stacksJSON) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STACK\tSTATE\tLAST CONN\t1H\t24H\tTOTAL\tPEERS\tONLY HERE")
	for _, s := range st.Stacks {
		addr := s.Listen
		state := "serving"
		if s.DrainUntil != nil {
			state = "draining, dropped in " + roundAge(s.DrainUntil.Sub(st.Now))
		}
		last := "never"
		if s.Last != nil {
			last = roundAge(st.Now.Sub(*s.Last)) + " ago"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\n", addr, state, last, s.LastHour, s.LastDay, s.Total, s.Peers, s.OnlyHere)
	}
	tw.Flush()
	for _, s := range st.Stacks {
		for _, k := range s.OnlyKeys {
			fmt.Fprintf(w, "only over %s: %s\n", s.Listen, k)
		}
	}
}

// roundAge writes d as "12s", "5m12s" or "26h05m".
func roundAge(d time.Duration) string {
	d = max(d, 0).Round(time.Second)
	switch {
	case d < time.Minute:
		return d.String()
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	d = d.Round(time.Minute)
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
