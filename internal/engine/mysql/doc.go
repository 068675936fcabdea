// Package mysql is bacport's MySQL/MariaDB engine: it exports a live
// database to the BACPAC model and rows, and imports a package into a new
// or empty database. It talks to the server with go-sql-driver/mysql.
package mysql
