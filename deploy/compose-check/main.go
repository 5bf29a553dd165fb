// compose-check loads a docker-compose file the way `docker compose config` does (compose-go:
// the Compose Specification's JSON schema, interpolation, extends/anchors, depends_on and
// volume references, env_file) and prints the resolved project, or the first error with exit 1.
//
//	go run ./deploy/compose-check -f docker-compose.yml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/compose-spec/compose-go/v2/cli"
)

func main() {
	file := flag.String("f", "docker-compose.yml", "compose file")
	flag.Parse()
	opts, err := cli.NewProjectOptions(
		[]string{*file},
		cli.WithOsEnv,
		cli.WithDotEnv,
		cli.WithName("agentstream"),
		cli.WithResolvedPaths(true),
		cli.WithConsistency(true),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	out, err := project.MarshalYAML()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compose-check:", err)
		os.Exit(1)
	}
	os.Stdout.Write(out)
}
