// Package migrations embeds Pinguin's SQL migrations so every binary carries
// the schema it needs. Files follow golang-migrate's NNNN_name.{up,down}.sql.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
