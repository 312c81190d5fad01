// Where blocking work (store reads, admin writes) runs, so that it never runs
// on a network thread.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace tally {

class BlockingExecutor {
 public:
  virtual ~BlockingExecutor() = default;
  // Runs `task` some time later on some thread. Returns false, without
  // running it, if the executor is saturated or stopped. Thread-safe.
  virtual bool Post(std::function<void()> task) = 0;
};

// Runs each task at once on the caller's thread (the Lambda adapter, tests).
class InlineExecutor : public BlockingExecutor {
 public:
  bool Post(std::function<void()> task) override {
    task();
    return true;
  }
};

// A fixed set of threads with a bounded queue.
class ThreadPoolExecutor : public BlockingExecutor {
 public:
  ThreadPoolExecutor(int threads, size_t max_queued);
  ~ThreadPoolExecutor() override;  // Stop()s
  bool Post(std::function<void()> task) override;
  // Runs what is queued, then joins the threads. Idempotent.
  void Stop();

 private:
  void Run();
  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::vector<std::thread> threads_;
};

}  // namespace tally
