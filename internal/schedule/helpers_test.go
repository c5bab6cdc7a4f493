package schedule_test

import (
	"time"

	"github.com/redis/go-redis/v9"
)

func redisZ(id int64, at time.Time) redis.Z {
	return redis.Z{Member: id, Score: float64(at.UnixMilli())}
}
